"""Observability: CloudWatch metrics, alarms, logs, dashboards and X-Ray tracing.

Modules are imported on their own (``from labs.observability import alarms``) so that importing
the package stays cheap:

* ``alarms`` — CloudWatch alarm evaluation (M of N, missing data), pure; ``alarm_runner`` runs the
  alarms defined in the emulator on the simulated clock and delivers their SNS actions;
  ``composite`` evaluates composite alarm rules.
* ``clock`` — the simulated clock; ``traffic`` — the vectorised traffic simulator;
  ``published`` — the raw values ``labs`` published, for the percentiles the emulator lacks.
* ``logs`` — the filter pattern language, log events, metric filters; ``insights`` — a subset
  of Logs Insights over pandas; ``emf`` — the bookstore's Embedded Metric Format output.
* ``metrics`` — metric queries, metric math and percentiles; ``dashboards`` — dashboard bodies
  stored in the emulator and drawn from its metrics.
* ``tracing`` — X-Ray: instrumentation, the service graph, filter expressions, waterfalls.
* ``checks`` and ``tracing_checks`` — the labs' *Check your work* helpers.
"""
