"""The contracts API: three actors on every endpoint, signing with evidence, error codes."""

import pytest
from django.test import Client

from portal.models import LogEntry
from tenants.models import ContractKind, ContractSignature, OrganizationRole, RoleStatus
from tenants.services.contracts import current_version, publish_version, text_sha256
from tenants.services.grants import grant_right
from tests.factories import make_api_key
from tests.helpers import api_client, assert_actors, assert_envelope, result_ids
from tests.tenants.contracts.conftest import operator_v1, sign_payload

pytestmark = pytest.mark.django_db

UA = "KassenTool/2.1 (+https://example.com)"


def _org_url(actor, path):
    return f"/api/v1/organizations/{actor.org_id}/{path}"


def _post(client, url, data, **headers):
    return client.post(url, data, content_type="application/json", headers=headers or None)


# --- contract texts ---------------------------------------------------------------------------


def test_every_caller_reads_the_current_contracts(actors):
    responses = assert_actors(actors.api_client, "GET", "/api/v1/contracts",
                              {"owner": 200, "partner": 200, "stranger": 200})
    body = responses["owner"].json()
    assert [row["contract"] for row in body] == ContractKind.values
    operator = next(row for row in body if row["contract"] == ContractKind.OPERATOR_USAGE)
    version = operator_v1()
    assert operator["role_kind"] == "operator" and operator["version"] == 1
    for language in ("de", "en"):
        assert operator["texts"][language]["text_sha256"] == text_sha256(version, language)
    assert operator["texts"]["en"]["title"] == version.title_en
    assert operator["texts"]["de"]["text"] == version.text_de
    assert_envelope(Client().get("/api/v1/contracts"), 401, "E_UNAUTHORIZED")


def test_old_versions_stay_readable(actors):
    publish_version(actor=None, kind=ContractKind.OPERATOR_USAGE, title_de="T2", title_en="T2 en", text_de="x",
                    text_en="y", requires_resign=False)
    url = "/api/v1/contracts/operator_usage/versions/1"
    responses = assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 200, "stranger": 200})
    assert responses["owner"].json()["texts"]["de"]["title"] == operator_v1().title_de != "T2"
    current = actors.api_client("owner").get("/api/v1/contracts").json()
    assert next(r for r in current if r["contract"] == "operator_usage")["version"] == 2
    for missing in ("/api/v1/contracts/operator_usage/versions/9", "/api/v1/contracts/nonsense/versions/1"):
        assert_envelope(actors.api_client("owner").get(missing), 404, "E_NOT_FOUND")


# --- role states ------------------------------------------------------------------------------


def test_role_states_by_actor(actors):
    url = _org_url(actors.owner, "roles")
    responses = assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 200, "stranger": 404})
    rows = {row["role_kind"]: row for row in responses["owner"].json()}
    assert set(rows) == {"creator", "dealer", "operator"}
    assert rows["operator"]["held"] is True and rows["operator"]["status"] == "active"
    assert rows["operator"]["state"] == "needs_signature"  # activated by staff, no signature in the portal
    assert rows["operator"]["current_version"]["text_sha256"]["en"] == text_sha256(operator_v1(), "en")
    assert rows["dealer"]["held"] is False and rows["dealer"]["status"] is None
    assert responses["partner"].json() == responses["owner"].json()


def test_applying_for_a_role_by_actor(actors):
    url = _org_url(actors.owner, "roles")
    assert_actors(actors.api_client, "POST", url, {"owner": 403, "partner": 403, "stranger": 404},
                  {"role_kind": "dealer"})  # API keys lack `sign_contracts`
    responses = assert_actors(actors.session_client, "POST", url,
                              {"stranger": 404, "partner": 403, "owner": 201}, {"role_kind": "dealer"})
    body = responses["owner"].json()
    assert body["role_kind"] == "dealer" and body["status"] == "pending" and body["state"] == "needs_signature"
    assert OrganizationRole.unscoped.get(organization=actors.owner.organization, kind="dealer").status == "pending"
    again = _post(actors.session_client("owner"), url, {"role_kind": "dealer"})
    assert_envelope(again, 409, "E_ROLE_EXISTS")


# --- signing ----------------------------------------------------------------------------------


def test_signing_by_actor(actors):
    url = _org_url(actors.owner, "contracts/operator/sign")
    owner_payload = sign_payload(operator_v1(), actors.owner.user)
    # API keys (even the owner's write key) do not sign; the partner lacks the right; the stranger sees nothing
    assert_actors(actors.api_client, "POST", url, {"owner": 403, "partner": 403, "stranger": 404}, owner_payload)
    assert_actors(actors.member_client, "POST", url, {"owner": 403, "partner": 403, "stranger": 404}, owner_payload)
    responses = assert_actors(actors.session_client, "POST", url, {"stranger": 404, "partner": 403, "owner": 201},
                              owner_payload)
    body = responses["owner"].json()
    signature = ContractSignature.unscoped.get(organization=actors.owner.organization)
    assert body["id"] == str(signature.public_id)
    assert body["text_sha256"] == text_sha256(operator_v1(), "de") == signature.text_sha256
    assert body["typed_name"] == "Olga Owner"
    assert body["user"]["email"] == "owner@example.com"
    assert body["contract"] == "operator_usage" and body["version"] == 1 and body["action"] == "sign"
    assert body["acting_organization"] is None


def test_a_signature_records_ip_and_user_agent(pending):
    url = f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign"
    response = pending.client.post(url, sign_payload(operator_v1(), pending.user, "en"),
                                   content_type="application/json", headers={"User-Agent": UA},
                                   REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ip_address"] == "198.51.100.23" and body["user_agent"] == UA and body["language"] == "en"
    assert OrganizationRole.unscoped.get(organization=pending.organization, kind="operator").status == "active"


@pytest.mark.parametrize(("overrides", "status", "code"), [
    ({"consent": False}, 400, "E_CONSENT_REQUIRED"),
    ({"typed_name": "Peter Pending"}, 400, "E_NAME_MISMATCH"),
    ({"text_sha256": "0" * 64}, 400, "E_TEXT_CHANGED"),
    ({"language": "fr"}, 400, "E_INVALID_LANGUAGE"),
])
def test_refused_signatures_answer_with_their_code(pending, overrides, status, code):
    url = f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign"
    response = _post(pending.client, url, sign_payload(operator_v1(), pending.user, **overrides))
    assert_envelope(response, status, code)
    assert not ContractSignature.unscoped.filter(organization=pending.organization).exists()
    assert OrganizationRole.unscoped.get(organization=pending.organization, kind="operator").status == "pending"


def test_a_text_changed_since_it_was_read_is_refused(pending):
    shown = pending.client.get("/api/v1/contracts").json()
    sha = next(r for r in shown if r["contract"] == "operator_usage")["texts"]["de"]["text_sha256"]
    publish_version(actor=None, kind=ContractKind.OPERATOR_USAGE, title_de="Neu", title_en="New", text_de="a",
                    text_en="b", requires_resign=True)
    url = f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign"
    response = _post(pending.client, url, sign_payload(operator_v1(), pending.user, text_sha256=sha))
    assert_envelope(response, 400, "E_TEXT_CHANGED")


def test_signing_twice_conflicts_and_unknown_roles_are_404(pending):
    url = f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign"
    assert _post(pending.client, url, sign_payload(operator_v1(), pending.user)).status_code == 201
    assert_envelope(_post(pending.client, url, sign_payload(operator_v1(), pending.user)), 409, "E_ALREADY_SIGNED")
    bad = f"/api/v1/organizations/{pending.org_id}/contracts/consultant/sign"
    assert_envelope(_post(pending.client, bad, sign_payload(operator_v1(), pending.user)), 404, "E_NOT_FOUND")


def test_a_read_only_key_cannot_sign(actors, read_only_key):
    _key, plaintext = read_only_key
    response = _post(api_client(plaintext), _org_url(actors.owner, "contracts/operator/sign"),
                     sign_payload(operator_v1(), actors.owner.user))
    assert_envelope(response, 403, "E_API_KEY_READ_ONLY")


# --- on behalf --------------------------------------------------------------------------------


def test_a_partner_with_the_sign_contracts_right_signs_on_behalf(on_behalf):
    owner, partner = on_behalf.owner, on_behalf.partner
    url = _org_url(owner, "contracts/operator/sign")
    payload = sign_payload(operator_v1(), partner.user)
    # the dealer's API key now passes the capability check, but only a person may sign
    assert_envelope(_post(on_behalf.api_client("partner"), url, payload), 403, "E_USER_REQUIRED")
    response = _post(on_behalf.session_client("partner"), url, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["acting_organization"] == {"id": partner.org_id, "name": partner.organization.name}
    assert body["user"]["email"] == "partner@example.com" and body["organization"] == owner.org_id
    entry = LogEntry.unscoped.get(organization=owner.organization, action="tenants.contract.signed")
    assert entry.acting_organization == partner.organization and entry.actor_user == partner.user


def test_a_partner_without_the_right_is_refused_and_a_revoked_right_ends_it(actors):
    url = _org_url(actors.owner, "contracts/operator/sign")
    payload = sign_payload(operator_v1(), actors.partner.user)
    assert_envelope(_post(actors.session_client("partner"), url, payload), 403, "E_PERMISSION_DENIED")
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization, right="configure")
    assert_envelope(_post(actors.session_client("partner"), url, payload), 403, "E_PERMISSION_DENIED")
    assert not ContractSignature.unscoped.exists()


# --- terminating ------------------------------------------------------------------------------


def test_terminating_by_actor(actors):
    _post(actors.session_client("owner"), _org_url(actors.owner, "contracts/operator/sign"),
          sign_payload(operator_v1(), actors.owner.user))
    url = _org_url(actors.owner, "contracts/operator/terminate")
    payload = sign_payload(operator_v1(), actors.owner.user, "en")
    assert_actors(actors.api_client, "POST", url, {"owner": 403, "partner": 403, "stranger": 404}, payload)
    responses = assert_actors(actors.session_client, "POST", url, {"stranger": 404, "partner": 403, "owner": 201},
                              payload)
    assert responses["owner"].json()["action"] == "terminate"
    role = OrganizationRole.unscoped.get(organization=actors.owner.organization, kind="operator")
    assert role.status == RoleStatus.TERMINATED
    again = _post(actors.session_client("owner"), url, payload)
    assert_envelope(again, 409, "E_NOT_SIGNED")
    states = {r["role_kind"]: r for r in actors.api_client("owner").get(_org_url(actors.owner, "roles")).json()}
    assert states["operator"]["state"] == "terminated" and states["operator"]["status"] == "terminated"


# --- history ----------------------------------------------------------------------------------


def test_the_signature_history_is_for_members(actors):
    client = actors.session_client("owner")
    _post(client, _org_url(actors.owner, "contracts/operator/sign"), sign_payload(operator_v1(), actors.owner.user))
    _post(client, _org_url(actors.owner, "contracts/operator/terminate"),
          sign_payload(operator_v1(), actors.owner.user))
    url = _org_url(actors.owner, "contract-signatures")
    # evidence (people, IP addresses) is not shown to partners acting for the organization
    responses = assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 404, "stranger": 404})
    ids = result_ids(responses["owner"])
    expected = list(ContractSignature.unscoped.filter(organization=actors.owner.organization)
                    .order_by("-signed_at", "-pk").values_list("public_id", flat=True))
    assert ids == [str(pk) for pk in expected] and len(ids) == 2
    rows = responses["owner"].json()["results"]
    assert [row["action"] for row in rows] == ["terminate", "sign"]
    assert result_ids(actors.member_client("owner").get(url)) == ids
    assert result_ids(actors.api_client("stranger").get(_org_url(actors.stranger, "contract-signatures"))) == []


def test_the_signature_history_is_paginated(pending):
    client = pending.client
    for _ in range(3):
        _post(client, f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign",
              sign_payload(operator_v1(), pending.user))
        _post(client, f"/api/v1/organizations/{pending.org_id}/contracts/operator/terminate",
              sign_payload(operator_v1(), pending.user))
    key = make_api_key(pending.organization)[1]
    first = api_client(key).get(f"/api/v1/organizations/{pending.org_id}/contract-signatures?page_size=4")
    body = first.json()
    assert body["count"] == 6 and len(body["results"]) == 4 and body["next"]
    second = api_client(key).get(body["next"])
    assert len(second.json()["results"]) == 2
    assert not set(result_ids(first)) & set(result_ids(second))


def test_a_new_version_shows_in_the_role_state(pending):
    _post(pending.client, f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign",
          sign_payload(operator_v1(), pending.user))
    publish_version(actor=None, kind=ContractKind.OPERATOR_USAGE, title_de="v2", title_en="v2", text_de="a",
                    text_en="b", requires_resign=True)
    rows = {r["role_kind"]: r for r in pending.client.get(f"/api/v1/organizations/{pending.org_id}/roles").json()}
    assert rows["operator"]["state"] == "resign_required" and rows["operator"]["status"] == "pending"
    assert rows["operator"]["signature"]["version"] == 1 and rows["operator"]["current_version"]["version"] == 2
    v2 = current_version(ContractKind.OPERATOR_USAGE)
    response = _post(pending.client, f"/api/v1/organizations/{pending.org_id}/contracts/operator/sign",
                     sign_payload(v2, pending.user))
    assert response.status_code == 201 and response.json()["version"] == 2
