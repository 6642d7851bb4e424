"""Fixtures of the rollout-template tests.

The three actors' owner is an operator, which cannot own templates. Here the **partner** (a dealer)
owns ``dealer_template``; the operator ``owner`` and the ``stranger`` must get 404 for it. For sharing,
``creator`` is a POS creator (with people, a write key and a POS system shared with the partner, so
the partner is one of its dealers) that owns ``creator_template``.
"""

import pytest

from portal.tenancy import actor_for_user
from tenants.models import Membership, MembershipRole
from tenants.services.rollout.templates import create_template
from tests.configuration_fixtures import template_document
from tests.factories import add_member, give_totp_device, make_api_key, make_organization, make_user
from tests.helpers import PortalActor, api_client, session_client


@pytest.fixture
def document(pos_catalogue):
    return template_document(pos_catalogue["new"].public_id)


@pytest.fixture
def dealer_template(actors, document):
    return create_template(actor_for_user(actors.partner.user), actors.partner.organization, "Filiale Standard",
                           "Eine Filiale mit Kassen", document, "erste Fassung")


@pytest.fixture
def creator(pos_catalogue):
    organization = pos_catalogue["creator"]
    user = Membership.unscoped.get(organization=organization, role=MembershipRole.OWNER).user
    device = give_totp_device(user)
    member = add_member(organization, make_user(f"creator.member.{organization.pk}@example.com")).user
    api_key, key = make_api_key(organization, can_write=True, name="creator write key")
    return PortalActor(name="creator", organization=organization, user=user, device=device, member=member,
                       api_key=api_key, key=key)


@pytest.fixture
def creator_template(creator, document):
    return create_template(actor_for_user(creator.user), creator.organization, "Kassenbau Standard", "", document)


@pytest.fixture
def other_dealer():
    """A dealer unrelated to the creator, with its own people and key."""
    user = make_user("other.dealer@example.com")
    organization = make_organization(user, roles=("dealer",), name="Andere Kassen GmbH")
    device = give_totp_device(user)
    api_key, key = make_api_key(organization, can_write=True, name="other dealer key")
    return PortalActor(name="other", organization=organization, user=user, device=device, member=user,
                       api_key=api_key, key=key)


@pytest.fixture
def clients(actors, creator, other_dealer):
    """``api(name)`` / ``session(name)`` for the three actors plus ``creator`` and ``other``."""
    extra = {"creator": creator, "other": other_dealer}

    class Clients:
        @staticmethod
        def api(name):
            return api_client(extra[name].key) if name in extra else actors.api_client(name)

        @staticmethod
        def session(name):
            if name in extra:
                return session_client(extra[name].user, extra[name].device)
            return actors.session_client(name)

    return Clients
