"""The POS systems pages with the three actors, and the creator's and the dealer's flows through them."""

import pytest
from django.urls import reverse

from portal.models import LogEntry, OutgoingMail
from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion, RoleKind
from tenants.services.grants import grant_right
from tests.factories import give_totp_device, make_organization, make_user
from tests.helpers import session_client
from tests.tenants.pos_systems.conftest import SYSTEM_DATA

pytestmark = pytest.mark.django_db

CREATE_FORM = {**SYSTEM_DATA, "name": "KassaLite", "software_version": "1.0"}


def page(actor, name, **kwargs):
    return reverse(name, kwargs={"org_id": actor.org_id, **kwargs})


def system_page(actor, name, system, **kwargs):
    return page(actor, name, pos_system_id=system.public_id, **kwargs)


def _body(response) -> str:
    return response.content.decode()


# --- the matrix --------------------------------------------------------------------------------


def _creator_pages(actors, system):
    owner = actors.owner
    return [
        page(owner, "pos_systems"),
        page(owner, "pos_systems") + "?retired=true",
        page(owner, "pos_system_create"),
        system_page(owner, "pos_system_detail", system),
        system_page(owner, "pos_system_edit", system),
        system_page(owner, "pos_system_retire", system),
        page(owner, "shared_pos_systems"),
    ]


@pytest.mark.parametrize("client", ["session_client", "member_client"])
def test_creator_pages_answer_by_actor(pos_actors, pos_system, client):
    factory = getattr(pos_actors, client)
    for target in _creator_pages(pos_actors, pos_system):
        for name, expected in (("owner", 200), ("partner", 404), ("stranger", 404)):
            assert factory(name).get(target).status_code == expected, f"{name} GET {target}"


def _creator_posts(actors, system):
    owner, partner, stranger = actors.owner, actors.partner, actors.stranger
    return [
        (page(owner, "pos_system_create"), CREATE_FORM),
        (system_page(owner, "pos_system_edit", system), {**SYSTEM_DATA, "model": "hijacked"}),
        (system_page(owner, "pos_system_retire", system), {}),
        (system_page(owner, "pos_system_version_add", system), {"software_version": "6.6.6"}),
        (system_page(owner, "pos_system_share", system), {"dealer": stranger.org_id}),
        (system_page(owner, "pos_system_unshare", system, dealer_id=partner.organization.public_id), {}),
    ]


def _assert_unchanged(system, dealer):
    system = PosSystem.unscoped.get(pk=system.pk)
    assert PosSystem.unscoped.count() == 1
    assert (system.model, system.retired_at) == ("KP-500", None)
    assert PosSystemVersion.unscoped.filter(pos_system=system).count() == 1
    assert list(PosSystemDealer.unscoped.values_list("dealer", flat=True)) == [dealer.pk]


def test_others_cannot_post_to_the_creators_pages(pos_actors, pos_system):
    for target, data in _creator_posts(pos_actors, pos_system):
        for name in ("partner", "stranger"):
            assert pos_actors.session_client(name).post(target, data).status_code == 404, f"{name} POST {target}"
    _assert_unchanged(pos_system, pos_actors.partner.organization)


def test_the_dealer_reads_the_shared_system_and_cannot_change_it(pos_actors, pos_system):
    partner = pos_actors.partner
    dealer = pos_actors.member_client("partner")
    listing = dealer.get(page(partner, "shared_pos_systems"))
    assert listing.status_code == 200
    assert f'data-id="{pos_system.public_id}"' in _body(listing) and "Kassa Hersteller GmbH" in _body(listing)
    for target in (system_page(partner, "shared_pos_system_detail", pos_system),
                   system_page(partner, "pos_system_detail", pos_system)):
        response = dealer.get(target)
        assert response.status_code == 200, target
        body = _body(response)
        assert 'data-testid="read-only"' in body and "3.1.0" in body
        for form in ("version-form", "share-form", "shares-table", "edit-link", "retire-link"):
            assert f'data-testid="{form}"' not in body
    for target, data in _creator_posts(pos_actors, pos_system)[1:]:
        dealer_target = target.replace(pos_actors.owner.org_id, partner.org_id)
        assert dealer.post(dealer_target, data).status_code == 403, dealer_target
    assert dealer.get(system_page(partner, "pos_system_edit", pos_system)).status_code == 403
    _assert_unchanged(pos_system, partner.organization)


def test_others_do_not_see_the_shared_system_under_the_dealers_or_their_own_url(pos_actors, pos_system):
    partner, stranger, owner = pos_actors.partner, pos_actors.stranger, pos_actors.owner
    for target in (page(partner, "shared_pos_systems"), system_page(partner, "shared_pos_system_detail", pos_system)):
        assert pos_actors.session_client("owner").get(target).status_code == 404
        assert pos_actors.session_client("stranger").get(target).status_code == 404
    client = pos_actors.session_client("stranger")
    assert client.get(system_page(stranger, "shared_pos_system_detail", pos_system)).status_code == 404
    assert client.get(system_page(stranger, "pos_system_detail", pos_system)).status_code == 404
    assert f'data-id="{pos_system.public_id}"' not in _body(client.get(page(stranger, "shared_pos_systems")))
    # and the creator's own system is not "shared" with it
    owner_client = pos_actors.session_client("owner")
    assert owner_client.get(system_page(owner, "shared_pos_system_detail", pos_system)).status_code == 404


def test_partners_acting_for_an_operator_get_404_and_no_menu_entry(pos_actors):
    both = make_organization(make_user("both@example.com"), roles=(RoleKind.CREATOR, RoleKind.OPERATOR))
    grant_right(actor=None, operator=both, dealer=pos_actors.partner.organization, right="configure")
    client = pos_actors.session_client("partner")
    dashboard = client.get(reverse("dashboard", kwargs={"org_id": both.public_id}))
    assert dashboard.status_code == 200 and 'data-testid="nav-pos-systems"' not in _body(dashboard)
    for name in ("pos_systems", "pos_system_create"):
        assert client.get(reverse(name, kwargs={"org_id": both.public_id})).status_code == 404
    assert client.post(reverse("pos_system_create", kwargs={"org_id": both.public_id}), CREATE_FORM).status_code == 404
    assert not PosSystem.unscoped.exists()


# --- navigation --------------------------------------------------------------------------------


def test_the_menu_shows_pos_systems_by_role(pos_actors):
    def nav(client, actor):
        return _body(client.get(reverse("dashboard", kwargs={"org_id": actor.org_id})))

    creator = nav(pos_actors.session_client("owner"), pos_actors.owner)
    assert 'data-testid="nav-pos-systems"' in creator and 'data-testid="nav-shared-pos-systems"' not in creator
    assert page(pos_actors.owner, "pos_systems") in creator
    dealer = nav(pos_actors.session_client("partner"), pos_actors.partner)
    assert 'data-testid="nav-shared-pos-systems"' in dealer and 'data-testid="nav-pos-systems"' not in dealer
    assert page(pos_actors.partner, "shared_pos_systems") in dealer
    both = nav(pos_actors.session_client("stranger"), pos_actors.stranger)
    assert 'data-testid="nav-pos-systems"' in both and 'data-testid="nav-shared-pos-systems"' in both
    user = make_user("betreiber@example.com")
    operator_org = make_organization(user, roles=(RoleKind.OPERATOR,))
    operator = _body(session_client(user, give_totp_device(user)).get(
        reverse("dashboard", kwargs={"org_id": operator_org.public_id})))
    assert "nav-pos-systems" not in operator and "nav-shared-pos-systems" not in operator


# --- the creator's flows -------------------------------------------------------------------------


def test_a_creator_registers_a_system_through_the_form(pos_actors):
    owner = pos_actors.owner
    client = pos_actors.member_client("owner")
    listing = client.get(page(owner, "pos_systems"))
    assert 'data-testid="pos-system-create-link"' in _body(listing)
    response = client.post(page(owner, "pos_system_create"), {**CREATE_FORM, "organization": "ignored"})
    system = PosSystem.unscoped.get()
    assert response.status_code == 302 and response["Location"] == system_page(owner, "pos_system_detail", system)
    assert system.organization == owner.organization and system.name == "KassaLite"
    assert system.versions.get().software_version == "1.0"
    assert LogEntry.unscoped.get(action="tenants.pos_system.created").actor_user == owner.member
    detail = _body(client.get(response["Location"]))
    assert str(system.public_id) in detail and 'data-testid="version-form"' in detail


def test_the_form_shows_errors_and_stores_nothing(pos_actors):
    response = pos_actors.member_client("owner").post(page(pos_actors.owner, "pos_system_create"),
                                                      {**CREATE_FORM, "brand": "B" * 51, "software_version": ""})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"brand", "software_version"}
    assert not PosSystem.unscoped.exists()


def test_an_inactive_creator_role_gets_a_clear_message_instead_of_forms(inactive_creator, pos_system):
    client = session_client(inactive_creator.member)
    listing = _body(client.get(page(inactive_creator, "pos_systems")))
    assert 'data-testid="role-inactive"' in listing and 'data-testid="pos-system-create-link"' not in listing
    for target in (page(inactive_creator, "pos_system_create"), system_page(inactive_creator, "pos_system_edit",
                                                                           pos_system)):
        response = client.get(target)
        assert response.status_code == 403 and 'data-testid="role-inactive"' in _body(response)
        assert client.post(target, CREATE_FORM).status_code == 403
    detail = _body(client.get(system_page(inactive_creator, "pos_system_detail", pos_system)))
    assert 'data-testid="role-inactive"' in detail and 'data-testid="version-form"' not in detail
    assert 'data-testid="share-form"' not in detail and 'data-testid="retire-link"' in detail
    response = client.post(system_page(inactive_creator, "pos_system_version_add", pos_system),
                           {"software_version": "9.0"})
    assert response.status_code == 302
    assert PosSystem.unscoped.count() == 1 and PosSystemVersion.unscoped.count() == 1
    assert PosSystem.unscoped.get().name == "KassaPro"


def test_viewers_read_but_do_not_get_forms(pos_actors, pos_system):
    owner = pos_actors.owner
    viewer = pos_actors.viewer_client("owner")
    listing = viewer.get(page(owner, "pos_systems"))
    assert listing.status_code == 200 and 'data-testid="pos-system-create-link"' not in _body(listing)
    detail = _body(viewer.get(system_page(owner, "pos_system_detail", pos_system)))
    assert 'data-testid="shares-table"' in detail
    assert 'data-testid="version-form"' not in detail and 'data-testid="edit-link"' not in detail
    assert viewer.get(page(owner, "pos_system_create")).status_code == 403
    for target, data in _creator_posts(pos_actors, pos_system):
        assert viewer.post(target, data).status_code == 403, target
    _assert_unchanged(pos_system, pos_actors.partner.organization)


def test_a_creator_edits_the_master_data(pos_actors, pos_system):
    owner = pos_actors.owner
    client = pos_actors.member_client("owner")
    response = client.post(system_page(owner, "pos_system_edit", pos_system),
                           {**SYSTEM_DATA, "model": "KP-600", "system_type": "electronic_register"})
    assert response.status_code == 302
    system = PosSystem.unscoped.get(pk=pos_system.pk)
    assert (system.model, system.system_type) == ("KP-600", "electronic_register")
    assert LogEntry.unscoped.get(action="tenants.pos_system.changed").data["changes"]["model"]["new"] == "KP-600"


def test_versions_are_added_once(pos_actors, pos_system):
    owner = pos_actors.owner
    client = pos_actors.member_client("owner")
    target = system_page(owner, "pos_system_version_add", pos_system)
    assert client.post(target, {"software_version": "3.2.0"}).status_code == 302
    duplicate = client.post(target, {"software_version": "3.2.0"})
    assert duplicate.status_code == 200
    assert "software_version" in duplicate.context["version_form"].errors
    assert list(PosSystemVersion.unscoped.filter(pos_system=pos_system).values_list(
        "software_version", flat=True)) == ["3.2.0", "3.1.0"]
    assert client.get(target).status_code == 405


def test_sharing_and_unsharing_through_the_pages(pos_actors, pos_system):
    owner, stranger, partner = pos_actors.owner, pos_actors.stranger, pos_actors.partner
    client = pos_actors.member_client("owner")
    share = system_page(owner, "pos_system_share", pos_system)
    assert client.post(share, {"dealer": stranger.org_id}).status_code == 302
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system, dealer=stranger.organization).exists()
    assert client.post(share, {"dealer": "stranger.member@example.com"}).status_code == 302  # already shared
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system).count() == 2

    invited = client.post(share, {"dealer": "neu@haendler.example"}, follow=True)
    assert "neu@haendler.example" in _body(invited)
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system).count() == 2
    assert OutgoingMail.objects.filter(to="neu@haendler.example").count() == 1

    invalid = client.post(share, {"dealer": "kein-dealer"})
    assert invalid.status_code == 200 and "dealer" in invalid.context["share_form"].errors
    not_a_dealer = client.post(share, {"dealer": owner.org_id})
    assert not_a_dealer.status_code == 200 and "dealer" in not_a_dealer.context["share_form"].errors

    dealer = pos_actors.member_client("partner")
    shared = system_page(partner, "shared_pos_system_detail", pos_system)
    assert dealer.get(shared).status_code == 200
    detail = _body(client.get(system_page(owner, "pos_system_detail", pos_system)))
    assert f'data-dealer="{partner.org_id}"' in detail
    unshare = system_page(owner, "pos_system_unshare", pos_system, dealer_id=partner.organization.public_id)
    assert client.post(unshare).status_code == 302
    assert dealer.get(shared).status_code == 404  # the very next request
    assert f'data-id="{pos_system.public_id}"' not in _body(dealer.get(page(partner, "shared_pos_systems")))
    assert client.post(unshare).status_code == 404
    assert LogEntry.unscoped.filter(organization=partner.organization, action="tenants.pos_system.unshared").exists()


def test_retiring_asks_for_confirmation_and_is_final(pos_actors, pos_system):
    owner, partner = pos_actors.owner, pos_actors.partner
    client = pos_actors.member_client("owner")
    retire = system_page(owner, "pos_system_retire", pos_system)
    confirm = client.get(retire)
    assert confirm.status_code == 200 and 'data-testid="retire-form"' in _body(confirm)
    assert PosSystem.unscoped.get(pk=pos_system.pk).retired_at is None  # GET changes nothing
    assert client.post(retire).status_code == 302
    retired_at = PosSystem.unscoped.get(pk=pos_system.pk).retired_at
    assert retired_at is not None
    detail = _body(client.get(system_page(owner, "pos_system_detail", pos_system)))
    assert 'data-testid="retired-badge"' in detail
    for form in ("version-form", "share-form", "edit-link", "retire-link"):
        assert f'data-testid="{form}"' not in detail
    assert client.post(retire).status_code == 302
    assert client.get(system_page(owner, "pos_system_edit", pos_system)).status_code == 302
    assert client.post(system_page(owner, "pos_system_version_add", pos_system),
                       {"software_version": "4.0"}).status_code == 302
    assert PosSystem.unscoped.get(pk=pos_system.pk).retired_at == retired_at
    assert PosSystemVersion.unscoped.count() == 1
    assert LogEntry.unscoped.filter(action="tenants.pos_system.retired").count() == 1
    # still readable, for the dealer too, and filtered
    assert pos_actors.member_client("partner").get(
        system_page(partner, "shared_pos_system_detail", pos_system)).status_code == 200
    retired = _body(client.get(page(owner, "pos_systems") + "?retired=true"))
    in_use = _body(client.get(page(owner, "pos_systems") + "?retired=false"))
    assert f'data-id="{pos_system.public_id}"' in retired and f'data-id="{pos_system.public_id}"' not in in_use


def test_the_audit_log_filters_by_pos_system_actions(pos_actors, pos_system):
    client = pos_actors.session_client("owner")
    response = client.get(reverse("audit_log", kwargs={"org_id": pos_actors.owner.org_id}),
                          {"action": "tenants.pos_system.shared"})
    assert response.status_code == 200
    entries = list(response.context["page"])
    assert [e.action for e in entries] == ["tenants.pos_system.shared"]
