"""Fixtures of the premises tests: complete master data for the owner, a dealer with ``configure``."""

import pytest
from django.db import connection

from tenants.services.grants import grant_right
from tenants.services.premises import create_betriebsstaette, create_outlet
from tests.factories import give_totp_device, make_api_key, make_dealer_with_grant, make_user
from tests.helpers import PortalActor
from tests.tenants.premises.helpers import betriebsstaette_data, complete_company_data, outlet_data


@pytest.fixture
def premises(actors):
    """The owner's complete master data: company data, one Betriebsstätte, outlet 1 in it."""
    organization = complete_company_data(actors.owner.organization)
    betriebsstaette = create_betriebsstaette(actor=None, organization=organization, data=betriebsstaette_data())
    outlet = create_outlet(actor=None, organization=organization,
                           data=outlet_data(betriebsstaette=betriebsstaette))
    return betriebsstaette, outlet


@pytest.fixture
def stranger_premises(actors):
    organization = actors.stranger.organization
    betriebsstaette = create_betriebsstaette(actor=None, organization=organization,
                                             data=betriebsstaette_data(name="Fremde Stätte"))
    outlet = create_outlet(actor=None, organization=organization,
                           data=outlet_data(name="Fremdes Outlet", betriebsstaette=betriebsstaette))
    return betriebsstaette, outlet


@pytest.fixture
def configure_partner(actors):
    """The partner dealer of the three actors, additionally granted ``configure`` by the owner."""
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="configure")
    return actors.partner


@pytest.fixture
def second_dealer(actors):
    """Another dealer of the owner with ``configure``: its own users and write key."""
    user = make_user("configurer@example.com", full_name="Carla Configure")
    dealer = make_dealer_with_grant(actors.owner.organization, user, right="configure", name="Konfig Kassen GmbH")
    api_key, key = make_api_key(dealer, can_write=True, name="configurer key")
    return PortalActor(name="configurer", organization=dealer, user=user, device=give_totp_device(user),
                       member=user, api_key=api_key, key=key)


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
