"""Demo data of the TSE app for ``manage.py seed_demo`` (sandbox only): one software TSE of an
operator with two POS, a dozen signed receipts, the record of an ended outage and a TAR export.

The receipts are signed now (the TSE takes its own time); the outage is written as a record of
yesterday, as the operator's documentation would show it."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tse.models import Outage, OutageReason, SigningUnit
from tse.receipts.process_data import build_process_data
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit
from tse.services.tar_jobs import request_export

__all__ = ["ensure_demo_tse"]

POS = ("KASSE-01", "KASSE-02")
RECEIPTS = 12


def _receipt(total: Decimal) -> dict:
    net_food = (total * Decimal("0.4")).quantize(Decimal("0.01"))
    return {"standard_v1": {"receipt": {
        "receipt_type": "RECEIPT",
        "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": str(total - net_food)},
                                 {"vat_rate": "REDUCED_1", "amount": str(net_food)}],
        "amounts_per_payment_type": [{"payment_type": "CASH", "amount": str(total), "currency_code": "EUR"}],
    }}}


def ensure_demo_tse(*, actor, organization, outlet=None) -> SigningUnit:
    """Create the demo TSE of ``organization`` once; later runs leave an existing one alone."""
    existing = SigningUnit.unscoped.filter(organization=organization).first()
    if existing is not None:
        return existing
    unit = create_signing_unit(actor=actor, organization=organization, outlet=outlet,
                               description="Kasse Café am Markt")
    unit = initialize_signing_unit(actor=actor, signing_unit=unit)
    backend = get_backend(unit)
    for pos in POS:
        backend.register_client(pos)
    for number in range(1, RECEIPTS + 1):
        process = build_process_data(_receipt(Decimal("4.20") + Decimal(number)))
        pos = POS[number % 2]
        tx = backend.start_transaction(pos)
        backend.finish_transaction(pos, tx.number, process.process_type, process.process_data.encode("utf-8"))
    yesterday = timezone.now().replace(microsecond=0) - timedelta(days=1, hours=3)
    Outage.unscoped.create(organization=organization, signing_unit=unit, started_at=yesterday,
                           ended_at=yesterday + timedelta(minutes=15), reason=OutageReason.SIGNING_FAILED,
                           error_code="E_TSE_UNAVAILABLE", error_message="Demo: connection to the TSE lost",
                           failed_signings=2)
    request_export(actor=actor, signing_unit=unit)
    return unit
