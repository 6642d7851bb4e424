"""The fiscal configuration of an operator: its document, versions, diff, plan and application."""
