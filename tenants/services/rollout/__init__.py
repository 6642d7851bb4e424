"""Rollout templates: variables, templates and versions, jobs that apply them, webhooks."""
