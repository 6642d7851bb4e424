"""Database-level guards used by migrations (PostgreSQL only; SQLite, the embedded default, skips them)."""

from django.db import migrations

__all__ = ["append_only_trigger", "postgresql_only", "retained_archive_trigger"]


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


def retained_archive_trigger(table: str, completed_state: str) -> migrations.RunPython:
    """Protect the stored archives of ``table``: no DELETE before ``retain_until``; once in
    ``completed_state`` its file, SHA-256, size, state and retention date are final."""
    function, trigger = f"{table}_protect_archive", f"{table}_protect"
    return postgresql_only(
        f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.retain_until IS NOT NULL AND OLD.retain_until >= current_date THEN
            RAISE EXCEPTION '{table}: the archive must be kept until %', OLD.retain_until
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = '{completed_state}' AND (NEW.sha256 <> OLD.sha256 OR NEW.file <> OLD.file
            OR NEW.size <> OLD.size OR NEW.state <> OLD.state
            OR NEW.retain_until IS DISTINCT FROM OLD.retain_until) THEN
        RAISE EXCEPTION '{table}: a stored archive is final' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();
""",
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}; DROP FUNCTION IF EXISTS {function}();",
    )
