"""API of the rollout feature."""
