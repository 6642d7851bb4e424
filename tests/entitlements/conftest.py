"""Fixtures of the entitlement tests.

The three actors (tests/helpers.py): ``owner`` is the operator, ``partner`` the dealer (granted
``read`` by the owner). ``shop`` adds what buying needs: the default product TSE-SUB with its plan
(9.00 EUR, 12 months), a countersigned framework contract of the partner in force (credit limit
1,000.00 EUR; tiers: from 5 units 10 %, from 10 units 20 %). ``granted`` adds the owner's
``entitlements`` right for the partner; ``outlet`` is an open outlet of the owner.
"""

import datetime as dt
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from portal.tenancy import actor_for_user
from tenants.models import DiscountTier, FrameworkContract, Outlet, Product
from tenants.services.grants import grant_right

CREDIT_LIMIT = Decimal("1000.00")


def default_product() -> Product:
    """TSE-SUB from the data migration (recreated after a transactional test flushed the database)."""
    import_module("tenants.migrations.0008_invoices_final_default_plan").default_plan(apps, None)
    return Product.objects.get(code="TSE-SUB")


def make_framework_contract(dealer, user, *, credit_limit=CREDIT_LIMIT, tiers=((5, "10.00"), (10, "20.00")),
                            countersigned=True, starts_on=None, ends_on=None) -> FrameworkContract:
    today = timezone.localdate()
    contract = FrameworkContract.unscoped.create(
        organization=dealer, title="Rahmenvertrag 2026", text="Volumen und Rabatte.", planned_volume=20,
        starts_on=starts_on or today - dt.timedelta(days=30), ends_on=ends_on or today + dt.timedelta(days=300),
        credit_limit=credit_limit, countersigned_at=timezone.now() if countersigned else None,
        countersigned_by=user if countersigned else None, countersign_name=user.full_name if countersigned else "")
    for min_units, percent in tiers:
        DiscountTier.unscoped.create(contract=contract, organization=dealer, min_units=min_units,
                                     percent=Decimal(percent))
    return contract


def make_outlet(organization, number=1, **extra) -> Outlet:
    data = {"name": f"Filiale {number}", "street": "Hauptstraße", "house_number": str(number),
            "postal_code": "10115", "city": "Berlin"}
    data.update(extra)
    return Outlet.unscoped.create(organization=organization, number=number, **data)


@pytest.fixture
def product(db):
    return default_product()


@pytest.fixture
def shop(actors, product):
    make_framework_contract(actors.partner.organization, actors.partner.user)
    return product


@pytest.fixture
def granted(actors):
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="entitlements")
    return actors


@pytest.fixture
def outlet(actors):
    return make_outlet(actors.owner.organization)


@pytest.fixture
def dealer_actor(actors, granted):
    return actor_for_user(actors.partner.user)


@pytest.fixture
def operator_actor(actors):
    return actor_for_user(actors.owner.user)
