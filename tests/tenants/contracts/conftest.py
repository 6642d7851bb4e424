"""Fixtures of the contracts tests: sign payloads, a pending organization, framework contracts."""

from datetime import date
from decimal import Decimal

import pytest

from tenants.models import ContractKind, ContractVersion, DiscountTier, FrameworkContract, RoleKind
from tenants.services.contracts import text_sha256
from tenants.services.grants import grant_right
from tests.factories import give_totp_device, make_dealer_with_grant, make_organization, make_user
from tests.helpers import session_client


def sign_payload(version, user, language="de", **overrides) -> dict:
    """What a signer sends after reading ``version`` in ``language``."""
    data = {
        "typed_name": user.full_name,
        "language": language,
        "text_sha256": text_sha256(version, language),
        "consent": True,
    }
    data.update(overrides)
    return data


def operator_v1():
    """Version 1 of the usage agreement (migration 0004)."""
    return ContractVersion.objects.get(kind=ContractKind.OPERATOR_USAGE, version=1)


@pytest.fixture
def pending(db):
    """An organization whose operator role is pending (contract not signed), with its owner and a
    verified session."""
    user = make_user(full_name="Petra Pending")
    organization = make_organization(user, roles=(RoleKind.OPERATOR,), activate=False, email="office@pending.example")
    device = give_totp_device(user)

    class Pending:
        pass

    result = Pending()
    result.user, result.organization, result.client = user, organization, session_client(user, device)
    result.org_id = str(organization.public_id)
    return result


@pytest.fixture
def on_behalf(actors):
    """The partner (dealer) additionally holds the owner's ``sign_contracts`` right."""
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="sign_contracts")
    return actors


def make_framework_contract(dealer, *, tiers=((10, "5.00"), (50, "10.00"), (100, "15.00")), starts_on=None,
                            ends_on=None, credit_limit="5000.00", **extra) -> FrameworkContract:
    contract = FrameworkContract.unscoped.create(
        organization=dealer,
        title=extra.pop("title", "Rahmenvertrag 2026"),
        text=extra.pop("text", "Der Händler plant die Abnahme von Signiereinheiten; es gelten die Rabattstufen."),
        planned_volume=extra.pop("planned_volume", 120),
        starts_on=starts_on or date(2020, 1, 1),
        ends_on=ends_on or date(2099, 12, 31),
        credit_limit=Decimal(credit_limit),
        **extra,
    )
    for min_units, percent in tiers:
        DiscountTier.unscoped.create(contract=contract, organization=dealer, min_units=min_units,
                                     percent=Decimal(percent))
    return contract


@pytest.fixture
def framework(actors):
    """A framework contract of the partner (a dealer), not countersigned yet."""
    return make_framework_contract(actors.partner.organization)


@pytest.fixture
def other_dealer(actors):
    """A second dealer of the owner, with its own verified owner session."""
    user = make_user(full_name="Dora Dealer")
    dealer = make_dealer_with_grant(actors.owner.organization, user, right="read", name="Other Dealer GmbH")
    return dealer, session_client(user, give_totp_device(user))
