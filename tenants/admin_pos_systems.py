"""Admin of the pos systems feature."""
