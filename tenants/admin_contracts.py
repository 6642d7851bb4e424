"""Admin of the contracts feature."""
