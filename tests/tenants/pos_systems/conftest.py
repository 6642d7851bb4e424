"""Actors of the POS systems tests.

The three-actor matrix of ``tests.helpers`` with the roles this feature needs:

``owner``
    A **creator** organization (role active) with owner (TOTP), member, viewer, write and read-only API keys.
``partner``
    A **dealer** organization the creator's ``pos_system`` is shared with; same people and keys.
``stranger``
    An unrelated organization that is creator *and* dealer (both active) with a system of its own, so that
    "nothing leaks" is tested against an organization that could hold such rows.
"""

from dataclasses import dataclass

import pytest

from portal.models import OutgoingMail
from tenants.models import MembershipRole, OrganizationRole, RoleKind, RoleStatus
from tenants.services.pos_systems import create_pos_system, share_pos_system
from tests.factories import add_member, give_totp_device, make_api_key, make_organization, make_user
from tests.helpers import PortalActor, ThreeActors, api_client, session_client

SYSTEM_DATA = {
    "name": "KassaPro",
    "brand": "Kassa GmbH",
    "model": "KP-500",
    "system_type": "pc_pos",
    "description": "Touch POS for gastronomy",
    "software_name": "KassaPro POS",
    "software_version": "3.1.0",
}


@dataclass
class PosActors(ThreeActors):
    """``ThreeActors`` plus clients for the viewer and the read-only key of an actor."""

    def viewer_client(self, name: str):
        return session_client(self[name].extra["viewer"])

    def read_only_client(self, name: str):
        return api_client(self[name].extra["read_only_key"])


def make_actor(name: str, roles, company: str) -> PortalActor:
    owner = make_user(f"{name}@example.com", full_name=f"{name.title()} Owner")
    organization = make_organization(owner, roles=roles, name=company)
    member = add_member(organization, make_user(f"{name}.member@example.com"), MembershipRole.MEMBER).user
    viewer = add_member(organization, make_user(f"{name}.viewer@example.com"), MembershipRole.VIEWER).user
    api_key, key = make_api_key(organization, can_write=True, name=f"{name} write key")
    _ro, read_only_key = make_api_key(organization, can_write=False, name=f"{name} read-only key")
    return PortalActor(
        name=name, organization=organization, user=owner, device=give_totp_device(owner), member=member,
        api_key=api_key, key=key, extra={"viewer": viewer, "read_only_key": read_only_key},
    )


def set_role_status(organization, kind: str, status: str) -> None:
    OrganizationRole.unscoped.filter(organization=organization, kind=kind).update(status=status)


@pytest.fixture
def pos_actors(db):
    creator = make_actor("owner", (RoleKind.CREATOR,), company="Kassa Hersteller GmbH")
    dealer = make_actor("partner", (RoleKind.DEALER,), company="Partner Kassenhandel GmbH")
    stranger = make_actor("stranger", (RoleKind.CREATOR, RoleKind.DEALER), company="Stranger Systems GmbH")
    return PosActors(owner=creator, partner=dealer, stranger=stranger)


@pytest.fixture
def pos_system(pos_actors):
    """The creator's system, shared with the partner (dealer). The set-up mails are discarded."""
    system = create_pos_system(actor=pos_actors.owner.user, organization=pos_actors.owner.organization,
                               data=dict(SYSTEM_DATA))
    share_pos_system(actor=pos_actors.owner.user, pos_system=system, dealer_id=pos_actors.partner.org_id)
    OutgoingMail.objects.all().delete()
    return system


@pytest.fixture
def stranger_system(pos_actors):
    return create_pos_system(actor=pos_actors.stranger.user, organization=pos_actors.stranger.organization,
                             data={**SYSTEM_DATA, "name": "Fremdkasse"})


@pytest.fixture
def inactive_creator(pos_actors, pos_system):
    """The creator's role is pending (contract not signed) after ``pos_system`` was registered."""
    set_role_status(pos_actors.owner.organization, RoleKind.CREATOR, RoleStatus.PENDING)
    return pos_actors.owner
