"""DORA records from the pipeline's own deployments: changes, deployments, incidents.

Every production deployment a pipeline execution makes appends JSON lines to a file in the
workshop folder, in exactly the format :func:`labs.dora.from_records` reads
(:mod:`labs.dora.sources` documents it), so that lab 01's metrics can be computed from the
learner's own pipeline:

* **change** — one per git commit, the first time a deployment ships it: ``change_id`` is the
  full SHA, ``committed_at`` its committer date. A deployment ships the commits between the
  commit in production and the one it deploys (``git log <production>..<commit>``), so commits
  whose executions were superseded or failed are shipped by the next deployment.
* **deployment** — one per production deployment (a retried Deploy action is another one):
  ``deployed_at`` when the release reached production, ``change_ids`` the commits it shipped,
  ``rolled_back`` true when an alarm made CodeDeploy roll it back. ``fixes_incident_id`` names
  an incident when the deployment ships a ``git revert`` ("This reverts commit <sha>.") of a
  commit whose deployment caused that incident: unplanned work caused by the incident, what the
  deployment rework rate counts. Extra fields say which pipeline execution and release it was.
* **incident** — one per rolled-back deployment, caused by it: created when the release began
  to hurt users (its first minute of traffic, the same instant as its ``deployed_at``), resolved
  when the rollback had all traffic back on the last good release; ``detected_at`` (an extra
  field) is when the alarm stopped the deployment. So the recovery time DORA measures runs from
  the failure reaching production to service restored, detection included.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from labs.cicd.git import Repo

__all__ = ["DoraRecorder"]

_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")


def _iso(moment: pd.Timestamp) -> str:
    return moment.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


class DoraRecorder:
    """Appends a pipeline's DORA records to a JSON-lines file.

    Args:
        path: The file (its folder is created).
        repo: The git repository the pipeline deploys from; None (tests) takes each deployment
            to ship its own commit only, committed when its execution started.
        reset: Start the file afresh (a new pipeline object starts a new history).
    """

    def __init__(self, path: str | os.PathLike[str], repo: Repo | None, *, reset: bool = True):
        self.path = Path(path)
        self.repo = repo
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if reset or not self.path.exists():
            self.path.write_text("", encoding="utf-8")
        self.changes: set[str] = set()
        self.incident_of_change: dict[str, str] = {}
        self.deployments = 0
        self.incidents = 0

    def _shipped(
        self, previous: str | None, commit: str, fallback: pd.Timestamp
    ) -> list[tuple[str, pd.Timestamp, str]]:
        """(sha, committed_at, full message) of the commits a deployment ships, oldest first."""
        if self.repo is None:
            return [(commit, fallback, "")]
        span = f"{previous}..{commit}" if previous else commit
        args = ["log", "--reverse", "--format=%H%x1f%ct%x1f%B%x1e", span]
        if not previous:
            args.insert(1, "-1")
            args.remove("--reverse")
        out = self.repo.git(*args)
        rows = []
        for record in out.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, seconds, body = record.split("\x1f", 2)
            rows.append((sha, pd.Timestamp(int(seconds), unit="s", tz="UTC"), body))
        return rows

    def deployment(
        self, *, deployment: Any, started: pd.Timestamp, execution: Any, action: Any
    ) -> list[dict[str, Any]]:
        """Append the records of one production deployment; return them.

        Args:
            deployment: The :class:`~labs.cicd.pipeline.actions.Deployment`.
            started: When the Deploy action started (simulated).
            execution: The pipeline execution.
            action: The Deploy action's execution.
        """
        records: list[dict[str, Any]] = []
        shipped = self._shipped(deployment.previous_commit, deployment.commit, execution.triggered)
        for sha, committed, _ in shipped:
            if sha not in self.changes:
                self.changes.add(sha)
                records.append(
                    {"type": "change", "change_id": sha, "committed_at": _iso(committed)}
                )
        fixes = None
        for _, _, body in shipped:
            for reverted in _REVERTS.findall(body):
                fixes = fixes or self.incident_of_change.get(reverted)
        self.deployments += 1
        deploy_id = f"D-{self.deployments}"
        minute = pd.Timedelta(minutes=1)
        records.append(
            {
                "type": "deployment",
                "deploy_id": deploy_id,
                "deployed_at": _iso(started + deployment.deployed_minute * minute),
                "change_ids": [sha for sha, _, _ in shipped],
                "rolled_back": deployment.rolled_back,
                "fixes_incident_id": fixes,
                "pipeline": execution.pipeline,
                "execution": execution.number,
                "pipeline_execution_id": execution.id,
                "commit": deployment.commit,
                "release": deployment.release,
                "status": deployment.status,
            }
        )
        if deployment.rolled_back:
            self.incidents += 1
            incident = f"INC-{self.incidents}"
            detected = deployment.detected_minute
            restored = deployment.restored_minute
            records.append(
                {
                    "type": "incident",
                    "incident_id": incident,
                    "created_at": _iso(started + deployment.deployed_minute * minute),
                    "resolved_at": None if restored is None else _iso(started + restored * minute),
                    "caused_by_deploy_id": deploy_id,
                    "detected_at": None if detected is None else _iso(started + detected * minute),
                    "release": deployment.release,
                }
            )
            for sha, _, _ in shipped:
                self.incident_of_change.setdefault(sha, incident)
        with self.path.open("a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
        return records
