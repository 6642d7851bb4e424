"""Shared fixtures of the configuration and rollout tests (a plugin of ``tests/conftest.py``).

- ``pos_catalogue``: a creator with a POS system (two versions) shared with the partner dealer of the
  three actors; ``{"creator", "system", "old", "new"}``.
- ``configure_partner``: the partner dealer also holds ``configure`` and ``entitlements`` on the owner.
- ``dealer_stock(n)``: ``n`` TSE-SUB entitlements in the partner dealer's stock (framework contract included).
- ``rollout_template_document``: a template for one shop: Betriebsstätte, outlet 1, a software TSE with an
  entitlement-free set-up, ``{{ registers }}`` POS ``K{{ store }}-{n:02}`` with cash registers.
- ``make_operators(n, dealer, rights)``: ``n`` operator organizations linked to ``dealer`` with ``rights``
  granted and an external reference ``OP-<i>`` (bulk-created, fast enough for 1,000).
"""

import uuid

import pytest
from django.utils import timezone

from tenants.models import (
    AccessGrant,
    DealerLink,
    LinkStatus,
    OperatorInvitation,
    Organization,
    OrganizationRole,
    PosSystem,
    PosSystemDealer,
    PosSystemVersion,
    RoleKind,
    RoleStatus,
)
from tenants.services.configuration.schema import TEMPLATE_FORMAT
from tenants.services.grants import grant_right
from tests.factories import make_organization

__all__ = ["make_operators", "template_document"]


@pytest.fixture
def pos_catalogue(actors):
    creator = make_organization(roles=("creator",), name="Kassenbau GmbH")
    system = PosSystem.unscoped.create(organization=creator, name="Kasse", brand="Kassenbau", model="K1",
                                       system_type="pc_pos")
    old = PosSystemVersion.unscoped.create(pos_system=system, organization=creator, software_name="KassenSoft",
                                           software_version="3.0")
    new = PosSystemVersion.unscoped.create(pos_system=system, organization=creator, software_name="KassenSoft",
                                           software_version="3.1")
    PosSystemDealer.unscoped.create(pos_system=system, organization=creator, dealer=actors.partner.organization)
    return {"creator": creator, "system": system, "old": old, "new": new}


@pytest.fixture
def configure_partner(actors):
    for right in ("configure", "entitlements"):
        grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization, right=right)
    return actors.partner


@pytest.fixture
def dealer_stock(actors):
    from tenants.services.entitlements import purchase
    from tests.entitlements.conftest import default_product, make_framework_contract

    def stock(quantity: int = 1):
        make_framework_contract(actors.partner.organization, actors.partner.user)
        from portal.tenancy import actor_for_user

        order = purchase(actor=actor_for_user(actors.partner.user), dealer=actors.partner.organization,
                         product=default_product(), quantity=quantity)
        return list(order.entitlements.all())

    return stock


def template_document(version_id, *, registers="{{ registers }}", entitlement: bool = False) -> dict:
    """A rollout template for one shop per operator, POS system version ``version_id``."""
    unit = {
        "reference": "tse-1",
        "backend": "software",
        "description": "TSE {{ store }}",
        "initialize": True,
        "clients": [{"client_id": "K{{ store }}-{n:02}", "count": registers,
                     "cash_register": {"pos_system_version": str(version_id), "base_currency": "EUR"}}],
    }
    if entitlement:
        unit["entitlement"] = {"product": "TSE-SUB"}
    return {
        "format": TEMPLATE_FORMAT,
        "variables": {
            "store": {"type": "string", "description": "Store code", "pattern": "[A-Z0-9]{1,8}"},
            "registers": {"type": "integer", "default": 2},
            "city": {"type": "string", "default": "Berlin"},
        },
        "betriebsstaetten": [{"reference": "main", "name": "{{ operator_name }}", "street": "Hauptstraße",
                              "house_number": "1", "postal_code": "10115", "city": "{{ city }}"}],
        "outlets": [{"number": 1, "name": "Filiale {{ store }}", "street": "Hauptstraße", "house_number": "1",
                     "postal_code": "10115", "city": "{{ city }}", "betriebsstaette": "main",
                     "signing_units": [unit]}],
    }


@pytest.fixture
def rollout_template_document(pos_catalogue):
    return template_document(pos_catalogue["new"].public_id)


def make_operators(count: int, dealer: Organization, rights=("configure",), *, prefix: str = "OP") -> list:
    """``count`` active operators linked to ``dealer``, each granting ``rights``; reference ``<prefix>-<i>``."""
    now = timezone.now()
    operators = Organization.unscoped.bulk_create([
        Organization(name=f"Betreiber {prefix}-{i} GmbH", legal_form="gmbh", street=f"Ladenstraße {i}",
                     postal_code="10115", city="Berlin", country="DE", tax_number="1121081508150")
        for i in range(1, count + 1)])
    OrganizationRole.unscoped.bulk_create([
        OrganizationRole(organization=operator, kind=RoleKind.OPERATOR, status=RoleStatus.ACTIVE, activated_at=now)
        for operator in operators])
    invitations = OperatorInvitation.unscoped.bulk_create([
        OperatorInvitation(organization=dealer, company_name=operator.name, street=operator.street,
                           postal_code=operator.postal_code, city=operator.city, contact_first_name="Olga",
                           contact_last_name="Operator", contact_email=f"{prefix.lower()}-{i}@example.com",
                           external_reference=f"{prefix}-{i}", token_digest=uuid.uuid4().hex + uuid.uuid4().hex,
                           expires_at=now, accepted_at=now, operator=operator)
        for i, operator in enumerate(operators, start=1)])
    DealerLink.unscoped.bulk_create([
        DealerLink(organization=operator, dealer=dealer, status=LinkStatus.ACTIVE, invitation=invitation,
                   activated_at=now)
        for operator, invitation in zip(operators, invitations, strict=True)])
    AccessGrant.unscoped.bulk_create([
        AccessGrant(organization=operator, dealer=dealer, right=right) for operator in operators for right in rights])
    return operators
