"""The audit log: log_action, append-only on PostgreSQL, entries written by API actions."""

import pytest
from django.db import DatabaseError, connection, transaction

from portal.models import LogEntry
from portal.services.audit import ACTION_LABELS, log_action
from portal.tenancy import actor_for_api_key, actor_for_user
from tenants.models import Membership
from tests.factories import make_api_key
from tests.helpers import api_client

pytestmark = pytest.mark.django_db


def _entries(organization, action):
    return list(LogEntry.unscoped.filter(organization=organization, action=action).order_by("pk"))


# --- log_action -----------------------------------------------------------------------------


def test_it_writes_organization_actor_object_and_data_for_a_user(actors):
    org = actors.owner.organization
    entry = log_action("tenants.organization.changed", actors.owner.user, org, org, {"changes": {"city": "x"}})
    entry = LogEntry.unscoped.get(pk=entry.pk)
    assert entry.organization_id == org.pk
    assert entry.actor_user_id == actors.owner.user.pk
    assert entry.actor_api_key_id is None
    assert entry.object_type == "tenants.organization"
    assert entry.object_id == str(org.public_id)
    assert entry.object_repr == "Owner Betriebs GmbH"
    assert entry.data == {"changes": {"city": "x"}}
    assert entry.actor_display == "Olga Owner"


def test_it_takes_user_and_key_from_an_actor(actors):
    org = actors.owner.organization
    by_key = log_action("tenants.apikey.created", actor_for_api_key(actors.owner.api_key), org, actors.owner.api_key)
    assert by_key.actor_api_key_id == actors.owner.api_key.pk
    assert by_key.actor_user_id is None
    assert by_key.object_type == "tenants.apikey"
    assert by_key.actor_display.startswith("owner write key")
    by_user = log_action("tenants.apikey.created", actor_for_user(actors.owner.user), org)
    assert by_user.actor_user_id == actors.owner.user.pk
    assert by_user.object_type == by_user.object_id == ""


def test_it_records_the_system_when_there_is_no_actor(actors):
    entry = log_action("tenants.grant.granted", None, actors.owner.organization, data=None)
    assert entry.actor_user_id is None and entry.actor_api_key_id is None
    assert entry.data == {}
    assert entry.actor_display == "System"


def test_it_records_the_acting_organization_of_a_partner(actors):
    entry = log_action(
        "tenants.grant.granted", None, actors.partner.organization, acting_organization=actors.owner.organization
    )
    assert entry.acting_organization_id == actors.owner.organization.pk


def test_it_labels_every_action_written_here():
    for code in (
        "tenants.apikey.created",
        "tenants.apikey.revoked",
        "tenants.organization.changed",
        "tenants.membership.changed",
        "tenants.membership.removed",
    ):
        assert code in ACTION_LABELS


# --- append-only ----------------------------------------------------------------------------


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")


def test_it_refuses_to_update_an_audit_entry(actors, postgresql_only):
    entry = log_action("tenants.organization.changed", None, actors.owner.organization)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LogEntry.unscoped.filter(pk=entry.pk).update(action="tampered")
    assert LogEntry.unscoped.get(pk=entry.pk).action == "tenants.organization.changed"


def test_it_refuses_to_delete_an_audit_entry(actors, postgresql_only):
    entry = log_action("tenants.organization.changed", None, actors.owner.organization)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LogEntry.unscoped.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_logentry")
    assert LogEntry.unscoped.filter(pk=entry.pk).exists()


def test_it_still_accepts_new_audit_entries(actors, postgresql_only):
    before = LogEntry.unscoped.count()
    log_action("tenants.organization.changed", None, actors.owner.organization)
    assert LogEntry.unscoped.count() == before + 1


# --- API actions write entries --------------------------------------------------------------


def test_it_audits_an_api_key_created_through_the_api(actors):
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    response = api_client(actors.owner.key).post(
        url, {"name": "till 9", "can_write": True}, content_type="application/json"
    )
    assert response.status_code == 201
    [entry] = [
        e for e in _entries(actors.owner.organization, "tenants.apikey.created") if e.object_id == response.json()["id"]
    ]
    assert entry.actor_api_key_id == actors.owner.api_key.pk
    assert entry.data == {"name": "till 9", "rights": ["read", "write"], "expires_at": None,
                          "pos_device": False}
    assert entry.request_id == response["X-Request-ID"]
    assert entry.ip_address == "127.0.0.1"


def test_it_audits_an_api_key_revoked_through_the_api_once(actors):
    target, _key = make_api_key(actors.owner.organization, name="old till")
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys/{target.public_id}"
    client = actors.session_client("owner")
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204  # revoking again changes nothing and writes nothing
    [entry] = _entries(actors.owner.organization, "tenants.apikey.revoked")
    assert entry.actor_user_id == actors.owner.user.pk
    assert entry.object_id == str(target.public_id)
    assert entry.data == {"name": "old till"}


def test_it_audits_an_organization_change_with_old_and_new_values(actors):
    response = api_client(actors.owner.key).patch(
        f"/api/v1/organizations/{actors.owner.org_id}",
        {"city": "Hamburg", "postal_code": "20095"},
        content_type="application/json",
    )
    assert response.status_code == 200
    [entry] = _entries(actors.owner.organization, "tenants.organization.changed")
    assert entry.actor_api_key_id == actors.owner.api_key.pk
    assert entry.data == {
        "changes": {"city": {"old": "Berlin", "new": "Hamburg"}, "postal_code": {"old": "10115", "new": "20095"}}
    }


def test_it_does_not_audit_an_organization_update_that_changes_nothing(actors):
    response = api_client(actors.owner.key).patch(
        f"/api/v1/organizations/{actors.owner.org_id}", {"city": "Berlin"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert _entries(actors.owner.organization, "tenants.organization.changed") == []


def test_it_audits_a_role_change_and_a_removal(actors):
    membership = Membership.unscoped.get(organization=actors.owner.organization, user=actors.owner.member)
    url = f"/api/v1/organizations/{actors.owner.org_id}/memberships/{membership.public_id}"
    client = actors.session_client("owner")
    assert client.patch(url, {"role": "admin"}, content_type="application/json").status_code == 200
    [changed] = _entries(actors.owner.organization, "tenants.membership.changed")
    assert changed.actor_user_id == actors.owner.user.pk
    assert changed.object_id == str(membership.public_id)
    assert changed.data == {"email": actors.owner.member.email, "old": "member", "new": "admin"}

    assert client.delete(url).status_code == 204
    [removed] = _entries(actors.owner.organization, "tenants.membership.removed")
    assert removed.data == {"email": actors.owner.member.email, "role": "admin"}


def test_it_writes_no_entry_for_refused_calls(actors):
    before = LogEntry.unscoped.count()
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    assert api_client(actors.stranger.key).post(url, {"name": "x"}, content_type="application/json").status_code == 404
    assert (
        api_client(actors.partner.key)
        .patch(f"/api/v1/organizations/{actors.owner.org_id}", {"city": "x"}, content_type="application/json")
        .status_code
        == 403
    )
    assert LogEntry.unscoped.count() == before


def test_it_keeps_the_audit_log_of_an_organization_away_from_partners(actors):
    # LogEntry is on the membership dimension: a partner with a read grant does not see it
    from django_scopes import scope

    log_action("tenants.organization.changed", None, actors.owner.organization)
    kwargs = actor_for_api_key(actors.partner.api_key).scope_kwargs()
    with scope(**kwargs):
        assert not LogEntry.objects.filter(organization=actors.owner.organization).exists()
        assert LogEntry.objects.filter(organization=actors.partner.organization).exists()
