"""Business logic of the TSE app: signing-unit lifecycle and TAR exports."""
