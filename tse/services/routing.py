"""Which Celery queue serves a signing unit.

Software and fiskaly TSEs are driven by the central ``signing`` workers. A LAN TSE sits in the
shop's network, so its tasks go to the unit's own queue ``tse.<public_id>``; a worker started
there with ``celery -A portal worker -Q tse.<public_id>`` (and the device driver registered with
``tse.services.signing_units.register_backend``) serves it.
"""

from tse.models import BackendType, SigningUnit

__all__ = ["SIGNING_QUEUE", "signing_queue"]

SIGNING_QUEUE = "signing"


def signing_queue(signing_unit: SigningUnit) -> str:
    if signing_unit.backend == BackendType.LAN:
        return f"tse.{signing_unit.public_id}"
    return SIGNING_QUEUE
