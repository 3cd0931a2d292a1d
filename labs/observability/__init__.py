"""Observability: CloudWatch metrics, alarms, logs, dashboards and X-Ray tracing.

Modules are imported on their own (``from labs.observability import alarms``) so that importing
the package stays cheap.
"""
