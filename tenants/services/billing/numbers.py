"""Gapless invoice numbers: ``f"{issuer_key}-{year}-{sequence:06d}"`` per issuer and issue year.

``InvoiceSequence`` holds the last number used per ``(issuer_key, year)``. ``allocate_numbers``
reserves a block with one upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, PostgreSQL and
SQLite ≥ 3.35): the row is created on first use and otherwise advanced under its row lock, which is
held until the caller's transaction ends. A concurrent allocation for the same issuer and year waits
for that transaction; a rollback releases the numbers again, so no number is ever skipped.
"""

from django.db import connection, transaction

from tenants.models import InvoiceSequence

__all__ = ["allocate_numbers", "invoice_number"]


def invoice_number(issuer_key: str, year: int, sequence: int) -> str:
    return f"{issuer_key}-{year}-{sequence:06d}"


def allocate_numbers(issuer_key: str, year: int, count: int) -> int:
    """Reserve ``count`` consecutive numbers of ``(issuer_key, year)``; return the first.

    Must run inside the transaction that stores the invoices (``transaction.atomic``)."""
    if count < 1:
        raise ValueError("allocate at least one number")
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("allocate_numbers needs the caller's transaction")
    table = connection.ops.quote_name(InvoiceSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (issuer_key, year, last_number) VALUES (%s, %s, %s) "  # noqa: S608 (quoted name)
            f"ON CONFLICT (issuer_key, year) DO UPDATE SET last_number = {table}.last_number + excluded.last_number "
            "RETURNING last_number",
            [issuer_key, year, count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1
