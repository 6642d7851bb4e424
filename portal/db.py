"""Database-level guards used by migrations (PostgreSQL only; SQLite, the embedded default, skips them)."""

from django.db import migrations

__all__ = ["append_only_trigger", "postgresql_only"]


def postgresql_only(forward_sql: str, backward_sql: str) -> migrations.RunPython:
    """A migration operation that runs raw SQL on PostgreSQL and does nothing elsewhere."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forward_sql, params=None)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(backward_sql, params=None)

    return migrations.RunPython(forward, backward)


def append_only_trigger(table: str) -> migrations.RunPython:
    """Refuse UPDATE and DELETE on ``table`` (needs ``portal_forbid_change()``, portal migration 0003)."""
    name = f"{table}_append_only"
    return postgresql_only(
        f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION portal_forbid_change();",
        f"DROP TRIGGER IF EXISTS {name} ON {table};",
    )
