"""Forms of the compliance centre pages (one module per part)."""
