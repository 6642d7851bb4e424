"""Fixtures of the TSE tests: an operator and software TSEs in their lifecycle states."""

import pytest

from tests.factories import make_organization
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

CURVES = ["P-256", "P-384", "brainpoolP256r1", "brainpoolP384r1"]


@pytest.fixture
def operator(db):
    return make_organization()


@pytest.fixture
def new_unit(operator):
    """A software TSE, P-256, state uninitialized."""
    return create_signing_unit(actor=None, organization=operator, description="Kasse Mitte")


@pytest.fixture
def ready_unit(new_unit):
    """Initialized, time set, clients ``KASSE-01`` and ``KASSE-02`` registered."""
    unit = initialize_signing_unit(actor=None, signing_unit=new_unit)
    backend = get_backend(unit)
    backend.register_client("KASSE-01")
    backend.register_client("KASSE-02")
    return backend.signing_unit


@pytest.fixture
def backend(ready_unit):
    return get_backend(ready_unit)
