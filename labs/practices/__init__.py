"""Practices around delivery: feature flags, A/B tests, incidents and postmortems.

Modules are imported on their own, by concern (``from labs.practices import flags``), so that
importing the package stays cheap:

* :mod:`~labs.practices.rules` — AWS AppConfig's multi-variant rule language: parser, evaluator
  and the consistent-hash ``split`` operator.
* :mod:`~labs.practices.flags` — ``AWS.AppConfig.FeatureFlags`` documents: validation and flag
  evaluation (the data plane the local emulator lacks).
* :mod:`~labs.practices.appconfig` — the AppConfig application, feature-flag profile and hosted
  configuration versions in the emulator (or a real account).
* :mod:`~labs.practices.rollout` — AppConfig deployment strategies on the simulated clock, with
  rollback on a CloudWatch alarm.
* :mod:`~labs.practices.abtest` — A/B tests: sample size and power, the two-proportion z-test,
  guardrails, the peeking problem.
* :mod:`~labs.practices.checks` — *Check your work* cells of the feature-flag lab.
* :mod:`~labs.practices.incidents` — incident timelines, severity, MTTD/MTTA/MTTR, DORA frames
  and blameless postmortems; :mod:`~labs.practices.gameday` runs a game day on the simulated
  clock (with :mod:`~labs.practices.incident_checks`).
* :mod:`~labs.practices.capstone` — the capstone: service profiles, the strategy grid run on the
  deployment engine, and an explainable recommendation (with
  :mod:`~labs.practices.capstone_checks`).
"""
