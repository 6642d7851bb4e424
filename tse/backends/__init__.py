"""TSE backends: one interface (``base.TseBackend``), the built-in software TSE and real-TSE adapters."""
