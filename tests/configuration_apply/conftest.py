"""Fixtures of the tests of planning and applying configuration documents.

``shop_document(version_id, …)``: one Betriebsstätte ``main``, outlet 1 with a software TSE ``tse-1``
(initialized) and POS ``KASSE-01``, ``KASSE-02`` with cash registers of POS system version ``version_id``.
``row_counts()``: the number of rows of every table an application writes to.
"""

import copy

import pytest

from tenants.services.configuration.schema import CONFIGURATION_FORMAT

ADDRESS = {"street": "Hauptstraße", "house_number": "1", "postal_code": "10115", "city": "Berlin"}


def shop_document(version_id, *, clients=("KASSE-01", "KASSE-02"), description="TSE Mitte",
                  entitlement: bool = False) -> dict:
    unit = {
        "reference": "tse-1",
        "backend": "software",
        "description": description,
        "initialize": True,
        "clients": [{"client_id": client, "cash_register": {"pos_system_version": str(version_id),
                                                             "base_currency": "EUR"}}
                    for client in clients],
    }
    if entitlement:
        unit["entitlement"] = {"product": "TSE-SUB"}
    return {
        "format": CONFIGURATION_FORMAT,
        "betriebsstaetten": [{"reference": "main", "name": "Hauptbetrieb", **ADDRESS}],
        "outlets": [{"number": 1, "name": "Filiale Mitte", **ADDRESS, "betriebsstaette": "main",
                     "signing_units": [unit]}],
        "signing_units": [],
    }


def row_counts() -> dict:
    from exports.models import CashRegister
    from portal.models.audit import LogEntry
    from tenants.models import Betriebsstaette, ConfigurationVersion, Entitlement, Outlet
    from tse.models import LanTseConnection, LogMessage, SigningUnit, TseClient

    counts = {model.__name__: model.unscoped.count() if hasattr(model, "unscoped") else model.objects.count()
              for model in (Betriebsstaette, Outlet, SigningUnit, TseClient, CashRegister, ConfigurationVersion,
                            LanTseConnection, LogMessage, LogEntry)}
    counts["active entitlements"] = Entitlement.unscoped.filter(state="active").count()
    return counts


def without_ids(document: dict) -> dict:
    """``document`` with every ``id`` (and the operator) removed: the same set-up for another operator."""
    document = copy.deepcopy(document)
    document.pop("operator", None)

    def strip(node):
        if isinstance(node, dict):
            node.pop("id", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(document)
    return document


def normalized_snapshot(organization) -> dict:
    """The snapshot without ids, serial numbers and the operator, for comparing two operators."""
    from tenants.services.configuration.document import snapshot

    document = without_ids(snapshot(organization))

    def strip(node):
        if isinstance(node, dict):
            node.pop("serial_number", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(document)
    return document


@pytest.fixture
def owner_actor(owner):
    from portal.tenancy import actor_for_user

    return actor_for_user(owner.user)


@pytest.fixture
def partner_actor(partner):
    """The partner's actor — build it after granting rights (the actor caches the grants)."""
    from portal.tenancy import actor_for_user

    def make():
        return actor_for_user(partner.user)

    return make
