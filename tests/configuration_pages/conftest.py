"""Fixtures of the configuration page and API tests.

``configured``: the owner's configuration — Betriebsstätte ``main`` with outlet 1, outlet 2 without a
Betriebsstätte; software TSE ``tse-1`` at outlet 1 (initialized, POS ``KASSE-01`` and ``KASSE-02``,
``KASSE-01`` a cash register on ``KassenSoft 3.1``) and TSE ``tse-2`` without an outlet (uninitialized).
Made through the services by the owner, so versions are recorded. Returns the objects by name.
"""

import datetime as dt
import json

import pytest
import time_machine

from exports.services.cash_registers import create_cash_register
from portal.tenancy import actor_for_user
from tenants.services.premises import create_betriebsstaette, create_outlet
from tse.models import TseClient
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_0 = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)  # 10:00 in Berlin

ADDRESS = {"street": "Hauptstraße", "house_number": "1", "postal_code": "10115", "city": "Berlin"}


def build_configuration(organization, user, version) -> dict:
    actor = actor_for_user(user)
    main = create_betriebsstaette(actor=actor, organization=organization,
                                  data={"name": "Hauptbetrieb", "reference": "main", **ADDRESS})
    first = create_outlet(actor=actor, organization=organization,
                          data={"number": 1, "name": "Filiale Mitte", "betriebsstaette": main, **ADDRESS})
    second = create_outlet(actor=actor, organization=organization,
                           data={"number": 2, "name": "Filiale Nord", **ADDRESS, "house_number": "2"})
    unit = create_signing_unit(actor=actor, organization=organization, outlet=first, reference="tse-1",
                               description="Theke")
    backend = get_backend(initialize_signing_unit(actor=actor, signing_unit=unit))
    backend.register_client("KASSE-01")
    backend.register_client("KASSE-02")
    spare = create_signing_unit(actor=actor, organization=organization, reference="tse-2", description="Reserve")
    register = create_cash_register(actor=actor, organization=organization,
                                    client=TseClient.unscoped.get(signing_unit=unit, client_id="KASSE-01"),
                                    outlet=first, pos_system_version=version)
    unit.refresh_from_db()
    return {"main": main, "outlets": [first, second], "unit": unit, "spare": spare, "register": register}


@pytest.fixture
def configured(owner, pos_catalogue):
    with time_machine.travel(DAY_0, tick=True):
        return build_configuration(owner.organization, owner.user, pos_catalogue["new"])


def upload(document) -> "object":
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    return SimpleUploadedFile("configuration.json", content, content_type="application/json")
