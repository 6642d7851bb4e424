"""API of the configuration feature."""
