"""Admin of the premises feature."""
