"""API of the rollout_jobs feature."""
