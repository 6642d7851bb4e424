"""The configuration API: schema, document (GET/PUT with dry run), versions with diffs; three actors."""

import copy

import pytest

from tenants.models import ConfigurationSource, ConfigurationVersion, Outlet
from tenants.services.configuration.document import digest, snapshot
from tests.helpers import api_client, assert_actors, assert_envelope

pytestmark = pytest.mark.django_db


def _url(org_id, suffix="") -> str:
    return f"/api/v1/organizations/{org_id}/configuration{suffix}"


def _count(organization) -> int:
    return ConfigurationVersion.unscoped.filter(organization=organization).count()


def _renamed(document: dict, name: str) -> dict:
    changed = copy.deepcopy(document)
    changed["outlets"][1]["name"] = name
    return changed


def test_schema_for_every_caller(actors):
    responses = assert_actors(actors.api_client, "GET", "/api/v1/configuration/schema",
                              {"owner": 200, "partner": 200, "stranger": 200})
    schema = responses["owner"].json()
    assert schema["type"] == "object" and "outlets" in schema["properties"]
    assert_envelope(api_client("kp_test_invalid.key").get("/api/v1/configuration/schema"), 401)


def test_get_three_actors(actors, configured):
    responses = assert_actors(actors.api_client, "GET", _url(actors.owner.org_id),
                              {"owner": 200, "partner": 200, "stranger": 404})
    body = responses["partner"].json()
    document = snapshot(actors.owner.organization)
    latest = ConfigurationVersion.unscoped.filter(organization=actors.owner.organization).order_by("-number")[0]
    assert body == {"version": latest.number, "digest": digest(document), "document": document}
    assert body["digest"] == latest.digest
    assert [o["number"] for o in body["document"]["outlets"]] == [1, 2]
    assert body["document"]["signing_units"][0]["reference"] == "tse-2"


def test_get_without_versions(actors):
    body = actors.api_client("owner").get(_url(actors.owner.org_id)).json()
    assert body["version"] is None and body["document"]["outlets"] == []


def test_put_three_actors(actors, configured, configure_partner):
    org = actors.owner.organization
    document = snapshot(org)
    before = _count(org)
    # the stranger does not see the operator; the partner (now with configure) and the owner write
    responses = assert_actors(actors.api_client, "PUT", _url(actors.owner.org_id),
                              {"stranger": 404, "partner": 200}, data=_renamed(document, "Filiale Hafen"))
    body = responses["partner"].json()
    assert body["changed"] is True and body["dry_run"] is False and body["version"] == before + 1
    assert [(s["action"], s["object"], s["path"]) for s in body["plan"]] == [("update", "outlet", "/outlets/1")]
    assert body["plan"][0]["changes"]["name"] == {"old": "Filiale Nord", "new": "Filiale Hafen"}
    version = ConfigurationVersion.unscoped.get(organization=org, number=body["version"])
    assert version.actor_api_key == actors.partner.api_key and version.actor_user is None
    assert version.acting_organization == actors.partner.organization
    assert version.source == ConfigurationSource.API
    responses = assert_actors(actors.api_client, "PUT", _url(actors.owner.org_id), {"owner": 200}, data=document)
    assert responses["owner"].json()["version"] == before + 2
    assert Outlet.unscoped.get(organization=org, number=2).name == "Filiale Nord"


def test_put_needs_configure(actors, configured, read_only_key):
    document = snapshot(actors.owner.organization)
    before = _count(actors.owner.organization)
    assert_actors(actors.api_client, "PUT", _url(actors.owner.org_id),
                  {"partner": (403, "E_RIGHT_MISSING"), "stranger": 404}, data=document)
    response = api_client(read_only_key[1]).put(_url(actors.owner.org_id), data=document,
                                                content_type="application/json")
    assert_envelope(response, 403, "E_API_KEY_READ_ONLY")
    assert _count(actors.owner.organization) == before


def test_dry_run_writes_nothing(actors, configured, configure_partner):
    org = actors.owner.organization
    before = _count(org)
    response = actors.api_client("partner").put(_url(actors.owner.org_id) + "?dry_run=true",
                                                data=_renamed(snapshot(org), "Filiale Hafen"),
                                                content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["version"] is None and len(body["plan"]) == 1
    assert _count(org) == before and Outlet.unscoped.get(organization=org, number=2).name == "Filiale Nord"
    response = actors.api_client("owner").put(_url(actors.owner.org_id) + "?dry_run=maybe", data=snapshot(org),
                                              content_type="application/json")
    assert_envelope(response, 400, "E_VALIDATION")


def test_round_trip_changes_nothing(actors, configured):
    org = actors.owner.organization
    before = _count(org)
    client = actors.api_client("owner")
    read = client.get(_url(actors.owner.org_id)).json()
    for body in (read["document"], read):  # the document, or the GET answer as it is
        response = client.put(_url(actors.owner.org_id), data=body, content_type="application/json",
                              headers={"If-Match": f'"{read["digest"]}"'})
        assert response.status_code == 200, response.content
        assert response.json() == {"changed": False, "plan": [], "version": None, "dry_run": False}
    assert _count(org) == before


def test_validation_errors_with_paths(actors, configured):
    document = snapshot(actors.owner.organization)
    document["outlets"][0]["number"] = "eins"
    response = actors.api_client("owner").put(_url(actors.owner.org_id), data=document,
                                              content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert "/outlets/0/number" in [e["path"] for e in body["details"]["errors"]]
    response = actors.api_client("owner").put(_url(actors.owner.org_id), data={
        "format": "kassenportal.configuration/1",
        "outlets": [{"number": 9, "street": "Weg", "house_number": "9", "postal_code": "10115", "city": "Berlin"}]},
        content_type="application/json")
    body = assert_envelope(response, 400)
    assert {"path": "/outlets/0/name", "code": "E_REQUIRED"} in [
        {"path": e["path"], "code": e["code"]} for e in body["details"]["errors"]]
    response = actors.api_client("owner").put(_url(actors.owner.org_id), data=[1], content_type="application/json")
    assert_envelope(response, 400, "E_VALIDATION")


def test_if_match_refuses_a_stale_document(actors, configured):
    client = actors.api_client("owner")
    read = client.get(_url(actors.owner.org_id)).json()
    from tenants.services.premises import update_outlet

    update_outlet(actor=None, outlet=configured["outlets"][0], changes={"name": "Filiale Zentrum"})
    response = client.put(_url(actors.owner.org_id), data=_renamed(read["document"], "Filiale Hafen"),
                          content_type="application/json", headers={"If-Match": f'"{read["digest"]}"'})
    assert_envelope(response, 409, "E_CONFIGURATION_CHANGED")


def test_versions_list_three_actors(actors, configured):
    responses = assert_actors(actors.api_client, "GET", _url(actors.owner.org_id, "/versions"),
                              {"owner": 200, "partner": 200, "stranger": 404})
    body = responses["partner"].json()
    versions = list(ConfigurationVersion.unscoped.filter(organization=actors.owner.organization)
                    .order_by("-number"))
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == len(versions)
    assert [row["number"] for row in body["results"]] == [v.number for v in versions]
    row = body["results"][-1]
    assert row["source"] == "manual" and row["user"]["email"] == "owner@example.com"
    assert row["api_key"] is None and row["acting_organization"] is None and row["change_count"] >= 1
    assert row["created_at"].endswith("Z") or row["created_at"].endswith("+00:00")
    page = actors.api_client("owner").get(_url(actors.owner.org_id, "/versions") + "?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]


def test_version_detail_and_against(actors, configured):
    versions = list(ConfigurationVersion.unscoped.filter(organization=actors.owner.organization)
                    .order_by("number"))
    first, last = versions[0], versions[-1]
    responses = assert_actors(actors.api_client, "GET", _url(actors.owner.org_id, f"/versions/{last.number}"),
                              {"owner": 200, "partner": 200, "stranger": 404})
    body = responses["owner"].json()
    assert body["document"] == last.document and body["changes"] == last.changes and body["against"] is None
    responses = assert_actors(actors.api_client, "GET",
                              _url(actors.owner.org_id, f"/versions/{last.number}?against={first.number}"),
                              {"owner": 200, "partner": 200, "stranger": 404})
    body = responses["partner"].json()
    assert body["against"] == first.number
    paths = {change["path"] for change in body["changes"]}
    assert {"outlets[1]", "outlets[2]", "signing_units[tse-2]"} <= paths
    client = actors.api_client("owner")
    assert_envelope(client.get(_url(actors.owner.org_id, "/versions/999")), 404, "E_NOT_FOUND")
    assert_envelope(client.get(_url(actors.owner.org_id, f"/versions/{last.number}?against=999")), 404)
    assert_envelope(client.get(_url(actors.owner.org_id, f"/versions/{last.number}?against=x")), 400,
                    "E_VALIDATION")


def test_openapi_documents_the_endpoints(actors):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "get" in paths["/api/v1/configuration/schema"]
    operation = paths["/api/v1/organizations/{organization_id}/configuration"]["put"]
    assert operation["operationId"] == "configuration_update" and {"400", "403", "404", "409"} <= set(
        operation["responses"])
    assert "/api/v1/organizations/{organization_id}/configuration/versions/{number}" in paths
