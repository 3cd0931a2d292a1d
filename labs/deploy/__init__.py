"""Deployments: CodeDeploy configurations, rolling, blue/green, canary and linear strategies.

Modules are imported on their own (``from labs.deploy import configs``) so that importing the
package stays cheap.
"""
