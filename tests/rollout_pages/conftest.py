"""Fixtures of the rollout page tests: a creator's template shared with the partner dealer (the runner),
operators that granted the runner ``configure``, and a second dealer the template is not shared with."""

import pytest

from portal.tenancy import actor_for_user
from tenants.models import Membership, MembershipRole, RoleKind
from tenants.services.rollout.templates import create_template, share_template
from tests.configuration_fixtures import make_operators, template_document
from tests.factories import add_member, give_totp_device, make_organization, make_user
from tests.helpers import session_client


def _owner_of(organization):
    return Membership.unscoped.get(organization=organization, role=MembershipRole.OWNER).user


@pytest.fixture
def template(actors, pos_catalogue):
    """Template "Filiale" of the creator, version 1, shared with the partner dealer."""
    creator = pos_catalogue["creator"]
    actor = actor_for_user(_owner_of(creator))
    created = create_template(actor, creator, "Filiale", "Ein Laden mit TSE und Kassen",
                              template_document(pos_catalogue["new"].public_id), note="erste Fassung")
    share_template(actor, created, actors.partner.organization)
    return created


@pytest.fixture
def runner_operators(actors):
    """Three operators linked to the partner dealer, granting ``configure``; references OP-1 … OP-3."""
    return make_operators(3, actors.partner.organization, ("read", "configure"))


@pytest.fixture
def other_dealer(db):
    """A dealer the template is not shared with: its owner by session (2FA verified)."""
    user = make_user("other.dealer@example.com", full_name="Otto Other")
    organization = make_organization(user, roles=(RoleKind.DEALER,), name="Anderer Handel GmbH")
    client = session_client(user, give_totp_device(user))
    return organization, client


@pytest.fixture
def partner_viewer(actors):
    """A viewer-role member of the partner dealer (sees jobs, may not start one)."""
    user = add_member(actors.partner.organization, make_user("viewer@example.com"), MembershipRole.VIEWER).user
    return session_client(user)
