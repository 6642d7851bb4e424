"""Admin of the partners feature."""
