"""Business logic of the compliance centre: notification events and files, Kassen-Nachschau bundles,
the archive and its verification, procedure documentation."""
