"""Cleaners for observability: EventBridge rules, CloudWatch alarms and dashboards, log groups."""

from __future__ import annotations

from botocore.exceptions import ClientError

from labs.cleanup.base import (
    Found,
    _Base,
    _ignore_gone,
    _is_gone,
    _n,
    _optional,
    _pages,
    is_workshop_resource,
)
from labs.env import Workshop

__all__ = ["DASHBOARD_PREFIX", "CloudWatchCleaner", "EventsCleaner", "LogsCleaner"]

DASHBOARD_PREFIX = "labs-"
"""Dashboards carry no tags in the emulator: those whose name starts with it are ours."""


class EventsCleaner(_Base):
    """Rules on every event bus, their targets removed first."""

    service = "events"

    def list(self, ctx: Workshop) -> list[Found]:
        ev = ctx.client("events")
        buses = [b["Name"] for b in ev.list_event_buses().get("EventBuses", [])] or ["default"]
        out = []
        for bus in buses:
            for page in _pages(ev, "list_rules", EventBusName=bus):
                for rule in page.get("Rules", []):
                    if rule.get("ManagedBy"):
                        continue  # rules another service owns; it deletes them
                    tags = _ignore_gone(
                        lambda a=rule["Arn"]: ev.list_tags_for_resource(ResourceARN=a)
                    )
                    if tags and is_workshop_resource(tags.get("Tags")):
                        out.append(
                            self.found(
                                "rule",
                                rule["Name"],
                                rule["Arn"],
                                tags.get("Tags"),
                                f"on bus {bus}",
                                bus=bus,
                            )
                        )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ev = ctx.client("events")
        bus = found.ref.get("bus", "default")
        ids = [
            t["Id"]
            for page in _pages(ev, "list_targets_by_rule", Rule=found.name, EventBusName=bus)
            for t in page.get("Targets", [])
        ]
        for start in range(0, len(ids), 10):
            ev.remove_targets(Rule=found.name, EventBusName=bus, Ids=ids[start : start + 10])
        ev.delete_rule(Name=found.name, EventBusName=bus)
        return f"with {_n(len(ids), 'target')}" if ids else ""


class CloudWatchCleaner(_Base):
    """Alarms (tagged; composite first) and dashboards (tagged, or named ``labs-…``)."""

    service = "cloudwatch"
    local_notes = "alarms by tag; dashboards have no tags in the emulator: by the labs- prefix"

    def list(self, ctx: Workshop) -> list[Found]:
        cw = ctx.client("cloudwatch")
        composite, metric = [], []
        for page in _pages(cw, "describe_alarms", AlarmTypes=["CompositeAlarm", "MetricAlarm"]):
            for kind, alarms, into in (
                ("composite-alarm", page.get("CompositeAlarms", []), composite),
                ("alarm", page.get("MetricAlarms", []), metric),
            ):
                for alarm in alarms:
                    tags = _ignore_gone(
                        lambda a=alarm["AlarmArn"]: cw.list_tags_for_resource(ResourceARN=a)
                    )
                    if tags and is_workshop_resource(tags.get("Tags")):
                        into.append(
                            self.found(
                                kind, alarm["AlarmName"], alarm["AlarmArn"], tags.get("Tags")
                            )
                        )
        dashboards = []
        for page in _pages(cw, "list_dashboards"):
            for dash in page.get("DashboardEntries", []):
                tags = (
                    _optional(
                        ctx,
                        lambda a=dash["DashboardArn"]: cw.list_tags_for_resource(ResourceARN=a),
                        {},
                    )
                    or {}
                )
                if is_workshop_resource(tags.get("Tags")):
                    dashboards.append(
                        self.found(
                            "dashboard",
                            dash["DashboardName"],
                            dash["DashboardArn"],
                            tags.get("Tags"),
                        )
                    )
                elif dash["DashboardName"].startswith(DASHBOARD_PREFIX):
                    dashboards.append(
                        self.found(
                            "dashboard",
                            dash["DashboardName"],
                            dash["DashboardArn"],
                            {},
                            f"no tags: matched by the {DASHBOARD_PREFIX!r} name prefix",
                        )
                    )
        return composite + metric + dashboards

    def delete(self, ctx: Workshop, found: Found) -> str:
        cw = ctx.client("cloudwatch")
        if found.kind == "dashboard":
            cw.delete_dashboards(DashboardNames=[found.name])
        else:
            cw.delete_alarms(AlarmNames=[found.name])
        return ""


class LogsCleaner(_Base):
    """Log groups, with their streams and events."""

    service = "logs"

    def list(self, ctx: Workshop) -> list[Found]:
        logs = ctx.client("logs")
        out = []
        for page in _pages(logs, "describe_log_groups"):
            for group in page.get("logGroups", []):
                name = group["logGroupName"]
                arn = group.get("logGroupArn") or group.get("arn", "").removesuffix(":*")
                try:
                    tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
                except ClientError as exc:
                    if _is_gone(exc):
                        continue
                    tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
                if is_workshop_resource(tags):
                    out.append(self.found("log-group", name, arn, tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("logs").delete_log_group(logGroupName=found.name)
        return ""
