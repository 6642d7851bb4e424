"""tenants.services.pos_systems: the rules, the master data for DSFinV-K/ELSTER, the audit trail and the mails."""

import pytest
from django_scopes import scope

from portal.models import LogEntry, OutgoingMail
from portal.services.audit import ACTION_LABELS
from portal.tenancy import actor_for_user
from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion, RoleKind, RoleStatus
from tenants.services.pos_systems import (
    PosSystemError,
    add_version,
    create_pos_system,
    deployable_pos_systems,
    get_pos_system_for,
    pos_master_data,
    retire_pos_system,
    share_pos_system,
    unshare_pos_system,
    update_pos_system,
)
from tests.factories import add_member, make_organization, make_user
from tests.tenants.pos_systems.conftest import SYSTEM_DATA, set_role_status

pytestmark = pytest.mark.django_db


def _codes(organization):
    return list(LogEntry.unscoped.filter(organization=organization).order_by("pk").values_list("action", flat=True))


# --- master data -----------------------------------------------------------------------------


def test_it_provides_the_dsfinvk_and_elster_master_data_of_a_version(pos_system):
    version = pos_system.versions.get()
    assert pos_master_data(version) == {
        "brand": "Kassa GmbH",
        "model": "KP-500",
        "software_brand": "KassaPro POS",
        "software_version": "3.1.0",
        "system_type": "pc_pos",
    }


def test_master_data_follow_the_version_and_later_edits(pos_actors, pos_system):
    new = add_version(actor=pos_actors.owner.user, pos_system=pos_system, software_version="3.2.0")
    update_pos_system(actor=pos_actors.owner.user, pos_system=pos_system, changes={"brand": "Kassa AG"})
    new = PosSystemVersion.unscoped.get(pk=new.pk)
    data = pos_master_data(new)
    assert (data["brand"], data["software_brand"], data["software_version"]) == ("Kassa AG", "KassaPro POS", "3.2.0")


def test_master_data_fields_are_limited_to_the_dsfinvk_length(pos_actors):
    with pytest.raises(PosSystemError) as exc:
        create_pos_system(actor=None, organization=pos_actors.owner.organization,
                          data={**SYSTEM_DATA, "brand": "B" * 51})
    assert (exc.value.code, exc.value.field) == ("E_VALIDATION", "brand")
    assert not PosSystem.unscoped.exists()


def test_deployable_systems_are_shared_and_not_retired(pos_actors, pos_system, stranger_system):
    owner, dealer = pos_actors.owner, pos_actors.partner.organization
    second = create_pos_system(actor=owner.user, organization=owner.organization, data={**SYSTEM_DATA, "name": "B"})
    share_pos_system(actor=owner.user, pos_system=second, dealer_id=dealer.public_id)
    create_pos_system(actor=owner.user, organization=owner.organization, data={**SYSTEM_DATA, "name": "unshared"})
    retire_pos_system(actor=owner.user, pos_system=second)
    with scope(**actor_for_user(pos_actors.partner.user).scope_kwargs()):
        assert list(deployable_pos_systems(dealer)) == [pos_system]
    with scope(**actor_for_user(pos_actors.stranger.user).scope_kwargs()):
        # the scope of another organization does not reach the dealer's systems
        assert list(deployable_pos_systems(dealer)) == []


# --- create, change, retire ------------------------------------------------------------------


def test_creating_needs_an_active_creator_role(pos_actors):
    set_role_status(pos_actors.owner.organization, RoleKind.CREATOR, RoleStatus.PENDING)
    with pytest.raises(PosSystemError) as exc:
        create_pos_system(actor=None, organization=pos_actors.owner.organization, data=dict(SYSTEM_DATA))
    assert exc.value.code == "E_ROLE_INACTIVE"
    assert not PosSystem.unscoped.exists()


def test_a_dealer_cannot_create_systems(pos_actors):
    with pytest.raises(PosSystemError) as exc:
        create_pos_system(actor=None, organization=pos_actors.partner.organization, data=dict(SYSTEM_DATA))
    assert exc.value.code == "E_ROLE_INACTIVE"


def test_creating_stores_the_system_with_its_first_version_and_audits(pos_actors):
    owner = pos_actors.owner
    system = create_pos_system(actor=actor_for_user(owner.user), organization=owner.organization,
                               data={**SYSTEM_DATA, "name": "  Trimmed  "})
    assert system.organization == owner.organization and system.name == "Trimmed"
    version = PosSystemVersion.unscoped.get(pos_system=system)
    assert (version.organization, version.software_name, version.software_version) == (
        owner.organization, "KassaPro POS", "3.1.0")
    entry = LogEntry.unscoped.get(action="tenants.pos_system.created")
    assert entry.organization == owner.organization and entry.actor_user == owner.user
    assert entry.object_id == str(system.public_id)
    assert entry.data["version"]["software_version"] == "3.1.0" and entry.data["brand"] == "Kassa GmbH"


def test_changes_are_audited_with_old_and_new_values_and_no_op_changes_are_not(pos_actors, pos_system):
    owner = pos_actors.owner.user
    update_pos_system(actor=owner, pos_system=pos_system, changes={"model": "KP-600", "name": "KassaPro"})
    update_pos_system(actor=pos_actors.owner.user, pos_system=pos_system, changes={"model": "KP-600"})
    entries = LogEntry.unscoped.filter(action="tenants.pos_system.changed")
    assert [e.data for e in entries] == [{"changes": {"model": {"old": "KP-500", "new": "KP-600"}}}]


def test_the_public_id_and_the_creator_cannot_be_changed(pos_actors, pos_system):
    for field in ("public_id", "organization", "retired_at"):
        with pytest.raises(ValueError):
            update_pos_system(actor=None, pos_system=pos_system, changes={field: None})


def test_retiring_is_final_and_leaves_the_system_readable(pos_actors, pos_system):
    owner = pos_actors.owner
    retired = retire_pos_system(actor=owner.user, pos_system=pos_system)
    assert retired.retired_at is not None
    with pytest.raises(PosSystemError) as again:
        retire_pos_system(actor=owner.user, pos_system=pos_system)
    assert again.value.code == "E_POS_SYSTEM_RETIRED"
    for call in (
        lambda: add_version(actor=owner.user, pos_system=pos_system, software_version="9"),
        lambda: update_pos_system(actor=owner.user, pos_system=pos_system, changes={"name": "X"}),
        lambda: share_pos_system(actor=owner.user, pos_system=pos_system,
                                 dealer_id=pos_actors.stranger.organization.public_id),
    ):
        with pytest.raises(PosSystemError) as exc:
            call()
        assert exc.value.code == "E_POS_SYSTEM_RETIRED"
    assert PosSystem.unscoped.get(pk=pos_system.pk).retired_at == retired.retired_at
    assert PosSystemVersion.unscoped.filter(pos_system=pos_system).count() == 1
    assert get_pos_system_for(pos_actors.partner.organization, pos_system.public_id)[1] == "dealer"
    entry = LogEntry.unscoped.get(action="tenants.pos_system.retired")
    assert entry.data["dealers"] == [str(pos_actors.partner.organization.public_id)]


def test_retiring_and_unsharing_stay_possible_when_the_creator_role_ended(pos_actors, pos_system):
    set_role_status(pos_actors.owner.organization, RoleKind.CREATOR, RoleStatus.TERMINATED)
    with pytest.raises(PosSystemError):
        add_version(actor=None, pos_system=pos_system, software_version="4")
    unshare_pos_system(actor=None, share=PosSystemDealer.unscoped.get(pos_system=pos_system))
    assert retire_pos_system(actor=None, pos_system=pos_system).retired_at is not None


# --- versions --------------------------------------------------------------------------------


def test_a_version_exists_once_per_system(pos_actors, pos_system, stranger_system):
    with pytest.raises(PosSystemError) as exc:
        add_version(actor=None, pos_system=pos_system, software_version=" 3.1.0 ")
    assert (exc.value.code, exc.value.field) == ("E_VERSION_EXISTS", "software_version")
    # the same number in another system is fine
    add_version(actor=None, pos_system=stranger_system, software_version="3.2.0")
    add_version(actor=None, pos_system=pos_system, software_version="3.2.0")
    assert PosSystemVersion.unscoped.filter(software_version="3.2.0").count() == 2


def test_a_new_version_keeps_the_software_name_unless_given(pos_actors, pos_system):
    kept = add_version(actor=None, pos_system=pos_system, software_version="3.2")
    renamed = add_version(actor=None, pos_system=pos_system, software_version="4.0", software_name="KassaPro X")
    latest = add_version(actor=None, pos_system=pos_system, software_version="4.1")
    assert (kept.software_name, renamed.software_name, latest.software_name) == (
        "KassaPro POS", "KassaPro X", "KassaPro X")
    assert _codes(pos_actors.owner.organization).count("tenants.pos_system.version_added") == 3


# --- sharing ---------------------------------------------------------------------------------


def test_sharing_by_id_stores_one_row_notifies_the_dealer_and_audits_both_sides(pos_actors):
    owner, dealer = pos_actors.owner, pos_actors.partner
    system = create_pos_system(actor=owner.user, organization=owner.organization, data=dict(SYSTEM_DATA))
    result = share_pos_system(actor=owner.user, pos_system=system, dealer_id=dealer.organization.public_id)
    assert result.created and result.share.dealer == dealer.organization and result.share.created_by == owner.user
    mail = OutgoingMail.objects.get()
    assert mail.to == "partner@example.com"  # the dealer's owner (its member/viewer are not admins)
    assert "KassaPro" in mail.subject and owner.organization.name in mail.subject
    assert f"/o/{dealer.org_id}/shared-pos-systems/{system.public_id}/" in mail.body_text
    creator_entry = LogEntry.unscoped.get(organization=owner.organization, action="tenants.pos_system.shared")
    dealer_entry = LogEntry.unscoped.get(organization=dealer.organization, action="tenants.pos_system.shared")
    assert creator_entry.data["dealer"] == dealer.org_id
    assert dealer_entry.acting_organization == owner.organization

    again = share_pos_system(actor=owner.user, pos_system=system, dealer_id=dealer.organization.public_id)
    assert not again.created and again.share == result.share
    assert PosSystemDealer.unscoped.count() == 1 and OutgoingMail.objects.count() == 1
    assert LogEntry.unscoped.filter(action="tenants.pos_system.shared").count() == 2


def test_sharing_by_the_email_of_a_dealer_member_finds_its_organization(pos_actors, pos_system):
    owner, stranger = pos_actors.owner, pos_actors.stranger
    result = share_pos_system(actor=owner.user, pos_system=pos_system, email="Stranger.Viewer@Example.com")
    assert result.created and result.share.dealer == stranger.organization
    assert sorted(OutgoingMail.objects.values_list("to", flat=True)) == [
        "stranger.viewer@example.com", "stranger@example.com"]
    entry = LogEntry.unscoped.get(organization=owner.organization, action="tenants.pos_system.shared",
                                  data__dealer=stranger.org_id)
    assert entry.data["email"] == "stranger.viewer@example.com"


def test_sharing_with_an_unknown_address_sends_an_invitation_and_stores_nothing(pos_actors, pos_system):
    result = share_pos_system(actor=pos_actors.owner.user, pos_system=pos_system, email="neu@haendler.example")
    assert (result.share, result.created, result.invited_email) == (None, False, "neu@haendler.example")
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system).count() == 1  # only the fixture's share
    mail = OutgoingMail.objects.get()
    assert mail.to == "neu@haendler.example"
    assert "/accounts/register/" in mail.body_text and "KassaPro" in mail.body_text
    entry = LogEntry.unscoped.get(action="tenants.pos_system.dealer_invited")
    assert entry.organization == pos_actors.owner.organization and entry.data["email"] == "neu@haendler.example"


def test_a_member_of_a_non_dealer_organization_gets_the_invitation_too(pos_actors, pos_system):
    make_organization(make_user("betreiber@example.com"), roles=(RoleKind.OPERATOR,))
    result = share_pos_system(actor=None, pos_system=pos_system, email="betreiber@example.com")
    assert result.invited_email == "betreiber@example.com"
    assert OutgoingMail.objects.get().to == "betreiber@example.com"


def test_company_names_are_not_html_escaped_in_mails(pos_actors):
    owner = pos_actors.owner
    owner.organization.name = "Kassen & Co. KG"
    owner.organization.save()
    system = create_pos_system(actor=owner.user, organization=owner.organization, data=dict(SYSTEM_DATA))
    share_pos_system(actor=owner.user, pos_system=system, email="neu@haendler.example")
    mail = OutgoingMail.objects.get()
    assert "Kassen & Co. KG" in mail.subject and "&amp;" not in mail.body_text


def test_only_dealers_can_receive_a_system(pos_actors, pos_system):
    operator = make_organization(roles=(RoleKind.OPERATOR,))
    ended = make_organization(roles=(RoleKind.DEALER,))
    set_role_status(ended, RoleKind.DEALER, RoleStatus.TERMINATED)
    for target in (operator, ended, pos_actors.owner.organization):
        with pytest.raises(PosSystemError) as exc:
            share_pos_system(actor=None, pos_system=pos_system, dealer_id=target.public_id)
        assert exc.value.code == "E_DEALER_NOT_FOUND"
    # the pending dealer role (contract not yet signed) is a dealer already
    pending = make_organization(roles=(RoleKind.DEALER,), activate=False)
    assert share_pos_system(actor=None, pos_system=pos_system, dealer_id=pending.public_id).created


def test_an_address_in_several_dealer_organizations_is_ambiguous(pos_actors, pos_system):
    add_member(pos_actors.stranger.organization, pos_actors.partner.member)
    with pytest.raises(PosSystemError) as exc:
        share_pos_system(actor=None, pos_system=pos_system, email=pos_actors.partner.member.email)
    assert exc.value.code == "E_DEALER_AMBIGUOUS"
    assert not OutgoingMail.objects.exists()


def test_sharing_needs_an_active_creator_role(pos_actors, pos_system):
    set_role_status(pos_actors.owner.organization, RoleKind.CREATOR, RoleStatus.PENDING)
    with pytest.raises(PosSystemError) as exc:
        share_pos_system(actor=None, pos_system=pos_system, email="neu@haendler.example")
    assert exc.value.code == "E_ROLE_INACTIVE"
    assert not OutgoingMail.objects.exists()


def test_unsharing_deletes_the_row_and_audits_both_sides(pos_actors, pos_system):
    share = PosSystemDealer.unscoped.get(pos_system=pos_system)
    assert unshare_pos_system(actor=pos_actors.owner.user, share=share)
    assert not PosSystemDealer.unscoped.exists()
    assert not unshare_pos_system(actor=pos_actors.owner.user, share=share)  # gone already: nothing logged
    entries = LogEntry.unscoped.filter(action="tenants.pos_system.unshared")
    assert sorted(e.organization_id for e in entries) == sorted(
        [pos_actors.owner.organization.pk, pos_actors.partner.organization.pk])
    with pytest.raises(PosSystem.DoesNotExist):
        get_pos_system_for(pos_actors.partner.organization, pos_system.public_id)


def test_every_action_code_has_a_label():
    for code in ("created", "changed", "retired", "version_added", "shared", "unshared", "dealer_invited"):
        assert f"tenants.pos_system.{code}" in ACTION_LABELS
