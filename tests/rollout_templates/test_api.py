"""API of rollout templates: the three actors on every endpoint, validation errors, versions and diffs.

The template belongs to the partner (a dealer); the operator ``owner`` and the ``stranger`` get 404.
"""

import copy

import pytest

from portal.models import LogEntry
from tenants.models import MembershipRole, RolloutTemplate, RolloutTemplateVersion
from tests.factories import add_member, make_api_key, make_user
from tests.helpers import api_client, assert_actors, assert_envelope, result_ids, session_client

DENIED = {"owner": 404, "stranger": 404}


def base(template):
    return f"/api/v1/rollout-templates/{template.public_id}"


def list_url(actor):
    return f"/api/v1/organizations/{actor.org_id}/rollout-templates"


def test_schema_for_every_caller(actors):
    responses = assert_actors(actors.api_client, "GET", "/api/v1/rollout-templates/schema",
                              {"owner": 200, "partner": 200, "stranger": 200})
    body = responses["owner"].json()
    assert body["$id"].endswith("rollout-template-1.json")
    assert "variables" in body["properties"]
    assert responses["owner"]["Content-Type"].startswith("application/schema+json")


def test_list_three_actors(actors, dealer_template):
    responses = assert_actors(actors.api_client, "GET", list_url(actors.partner), {**DENIED, "partner": 200})
    assert result_ids(responses["partner"]) == [str(dealer_template.public_id)]
    row = responses["partner"].json()["results"][0]
    assert row["owner"] == {"id": actors.partner.org_id, "name": actors.partner.organization.name}
    assert row["latest_version"]["number"] == 1
    assert row["latest_version"]["note"] == "erste Fassung"
    assert set(row["variables"]) == {"store", "registers", "city"}
    # the operator's own list is empty; a partner acting in its account gets 404
    assert result_ids(actors.api_client("owner").get(list_url(actors.owner))) == []
    assert_envelope(actors.api_client("partner").get(list_url(actors.owner)), 404, "E_NOT_FOUND")


def test_create_three_actors(actors, document):
    payload = {"name": "Filiale", "description": "Standard", "document": document, "note": "v1"}
    responses = assert_actors(actors.api_client, "POST", list_url(actors.partner), {**DENIED, "partner": 201},
                              data=payload)
    body = responses["partner"].json()
    assert body["name"] == "Filiale"
    assert body["latest_version"]["number"] == 1
    template = RolloutTemplate.unscoped.get(public_id=body["id"])
    assert template.organization == actors.partner.organization
    version = RolloutTemplateVersion.unscoped.get(template=template)
    assert version.document == document
    assert version.created_by_api_key == actors.partner.api_key
    assert LogEntry.objects.filter(action="tenants.rollout_template.created", organization=actors.partner.organization
                                   ).count() == 1


def test_an_operator_cannot_own_templates(actors, document):
    response = actors.api_client("owner").post(list_url(actors.owner), {"name": "X", "document": document},
                                               content_type="application/json")
    assert_envelope(response, 403, "E_ROLE_REQUIRED")


def test_a_read_only_key_cannot_create(actors, document):
    _key, plaintext = make_api_key(actors.partner.organization, can_write=False)
    response = api_client(plaintext).post(list_url(actors.partner), {"name": "X", "document": document},
                                          content_type="application/json")
    assert_envelope(response, 403)
    assert not RolloutTemplate.unscoped.exists()


@pytest.mark.parametrize(("change", "paths"), [
    (lambda d: d["outlets"][0].pop("number"), ["/outlets/0/number"]),
    (lambda d: d["outlets"][0]["signing_units"][0].update(colour="rot"), ["/outlets/0/signing_units/0/colour"]),
    (lambda d: d["outlets"][0].update(name="{{ shop }}"), ["/outlets/0/name"]),
    (lambda d: d["outlets"].append(copy.deepcopy(d["outlets"][0])),
     ["/outlets/1/number", "/outlets/1/signing_units/0/reference"]),
    (lambda d: d["variables"]["registers"].update(default="zwei"), ["/variables/registers/default"]),
])
def test_invalid_documents_answer_400_with_paths(actors, document, change, paths):
    change(document)
    response = actors.api_client("partner").post(list_url(actors.partner), {"name": "X", "document": document},
                                                 content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert [error["path"] for error in body["details"]["errors"]] == paths
    assert all(set(error) == {"path", "code", "message"} for error in body["details"]["errors"])
    assert not RolloutTemplate.unscoped.exists()


def test_a_payload_without_name_is_refused(actors, document):
    response = actors.api_client("partner").post(list_url(actors.partner), {"document": document},
                                                 content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert [(e["path"], e["code"]) for e in body["details"]["errors"]] == [("/name", "E_REQUIRED")]
    response = actors.api_client("partner").post(list_url(actors.partner), {"name": "X", "document": [1]},
                                                 content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert [(e["path"], e["code"]) for e in body["details"]["errors"]] == [("", "E_TYPE")]


def test_detail_three_actors(actors, dealer_template):
    responses = assert_actors(actors.api_client, "GET", base(dealer_template), {**DENIED, "partner": 200})
    assert responses["partner"].json()["id"] == str(dealer_template.public_id)


def test_patch_three_actors(actors, dealer_template):
    responses = assert_actors(actors.api_client, "PATCH", base(dealer_template), {**DENIED, "partner": 200},
                              data={"name": "Filiale Groß", "description": "neu"})
    assert responses["partner"].json()["name"] == "Filiale Groß"
    dealer_template.refresh_from_db()
    assert (dealer_template.name, dealer_template.description) == ("Filiale Groß", "neu")
    entry = LogEntry.objects.get(action="tenants.rollout_template.changed")
    assert entry.data["changes"]["name"] == {"old": "Filiale Standard", "new": "Filiale Groß"}


def test_a_member_without_configure_cannot_change(actors, dealer_template):
    viewer = add_member(actors.partner.organization, make_user(), MembershipRole.VIEWER).user
    client = session_client(viewer)
    response = client.patch(base(dealer_template), {"name": "Y"}, content_type="application/json")
    assert_envelope(response, 403, "E_PERMISSION_DENIED")
    assert client.get(base(dealer_template)).status_code == 200
    _key, plaintext = make_api_key(actors.partner.organization, can_write=False)
    response = api_client(plaintext).patch(base(dealer_template), {"name": "Y"}, content_type="application/json")
    assert_envelope(response, 403, "E_API_KEY_READ_ONLY")
    assert api_client(plaintext).get(base(dealer_template)).status_code == 200


def test_archive_by_patch(actors, dealer_template, document):
    client = actors.api_client("partner")
    response = client.patch(base(dealer_template), {"archived": True}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["archived_at"]
    document["variables"]["registers"]["default"] = 5
    response = client.post(f"{base(dealer_template)}/versions", {"document": document},
                           content_type="application/json")
    assert_envelope(response, 409, "E_TEMPLATE_ARCHIVED")
    assert result_ids(client.get(list_url(actors.partner))) == []
    assert result_ids(client.get(list_url(actors.partner), {"archived": "true"})) == [str(dealer_template.public_id)]
    assert LogEntry.objects.filter(action="tenants.rollout_template.archived").count() == 1


def test_versions_three_actors_and_diff(actors, dealer_template, document):
    url = f"{base(dealer_template)}/versions"
    changed = copy.deepcopy(document)
    changed["variables"]["registers"]["default"] = 3
    changed["outlets"][0]["name"] = "Markt {{ store }}"
    responses = assert_actors(actors.api_client, "POST", url, {**DENIED, "partner": 201},
                              data={"document": changed, "note": "drei Kassen"})
    body = responses["partner"].json()
    assert (body["number"], body["note"], body["document"]) == (2, "drei Kassen", changed)
    assert LogEntry.objects.filter(action="tenants.rollout_template.versioned").count() == 1

    responses = assert_actors(actors.api_client, "GET", url, {**DENIED, "partner": 200})
    assert [row["number"] for row in responses["partner"].json()["results"]] == [2, 1]
    assert "document" not in responses["partner"].json()["results"][0]

    responses = assert_actors(actors.api_client, "GET", f"{url}/1", {**DENIED, "partner": 200})
    assert responses["partner"].json()["document"] == document

    responses = assert_actors(actors.api_client, "GET", f"{url}/2/diff", {**DENIED, "partner": 200})
    changes = {(c["path"], c["op"]): (c["old"], c["new"]) for c in responses["partner"].json()}
    assert changes[("variables.registers.default", "changed")] == (2, 3)
    assert changes[("outlets[1].name", "changed")] == ("Filiale {{ store }}", "Markt {{ store }}")

    reverse = actors.api_client("partner").get(f"{url}/1/diff", {"against": 2}).json()
    assert {(c["path"], c["new"]) for c in reverse} >= {("variables.registers.default", 2)}
    first = actors.api_client("partner").get(f"{url}/1/diff").json()
    assert first and all(c["op"] == "added" for c in first)


def test_unchanged_documents_are_refused(actors, dealer_template, document):
    response = actors.api_client("partner").post(f"{base(dealer_template)}/versions", {"document": document},
                                                 content_type="application/json")
    assert_envelope(response, 409, "E_VERSION_UNCHANGED")
    assert RolloutTemplateVersion.unscoped.filter(template=dealer_template).count() == 1


def test_invalid_versions_answer_400_with_paths(actors, dealer_template, document):
    document["outlets"][0]["betriebsstaette"] = "nord"
    response = actors.api_client("partner").post(f"{base(dealer_template)}/versions", {"document": document},
                                                 content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert body["details"]["errors"][0]["path"] == "/outlets/0/betriebsstaette"
    assert body["details"]["errors"][0]["code"] == "E_UNKNOWN_REFERENCE"


def test_unknown_versions_and_bad_against(actors, dealer_template):
    client = actors.api_client("partner")
    assert_envelope(client.get(f"{base(dealer_template)}/versions/7"), 404, "E_NOT_FOUND")
    assert_envelope(client.get(f"{base(dealer_template)}/versions/7/diff"), 404, "E_NOT_FOUND")
    assert_envelope(client.get(f"{base(dealer_template)}/versions/1/diff", {"against": 9}), 404, "E_NOT_FOUND")
    assert_envelope(client.get(f"{base(dealer_template)}/versions/1/diff", {"against": "x"}), 400, "E_VALIDATION")


def test_shares_of_a_dealer_template(actors, dealer_template):
    responses = assert_actors(actors.api_client, "GET", f"{base(dealer_template)}/shares", {**DENIED, "partner": 200})
    assert result_ids(responses["partner"]) == []
    url = f"{base(dealer_template)}/shares/{actors.stranger.org_id}"
    assert_actors(actors.api_client, "PUT", url, {**DENIED, "partner": (403, "E_ROLE_REQUIRED")})
    assert_actors(actors.api_client, "DELETE", url, {**DENIED, "partner": (403, "E_ROLE_REQUIRED")})


def test_session_users_use_the_api(actors, dealer_template):
    assert actors.session_client("partner").get(base(dealer_template)).status_code == 200
    assert actors.member_client("partner").get(f"{base(dealer_template)}/versions").status_code == 200
    assert actors.member_client("owner").get(base(dealer_template)).status_code == 404
