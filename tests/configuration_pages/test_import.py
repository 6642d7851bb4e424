"""The import flow: upload → plan (dry run) with errors by path → confirm → applied and versioned."""

import copy
import json

import pytest

from tenants.models import ConfigurationSource, ConfigurationVersion, Outlet
from tenants.services.configuration.document import snapshot
from tests.configuration_pages.conftest import upload

pytestmark = pytest.mark.django_db


def _url(org_id) -> str:
    return f"/o/{org_id}/configuration/import/"


def _count(organization) -> int:
    return ConfigurationVersion.unscoped.filter(organization=organization).count()


def _export(actors, name="owner") -> dict:
    return json.loads(actors.session_client(name).get(f"/o/{actors.owner.org_id}/configuration/export/").content)


def _renamed(document: dict, name: str) -> dict:
    changed = copy.deepcopy(document)
    changed["outlets"][1]["name"] = name
    return changed


def _confirm_data(body: str) -> dict:
    form = body.split('data-testid="import-confirm"')[1].split("</form>")[0]
    data = {"confirm": "1"}
    for field in ("document", "base_digest", "summary"):
        chunk = form.split(f'name="{field}"')[1]
        value = chunk.split('value="')[1].split('"')[0] if 'value="' in chunk.split(">")[0] else ""
        data[field] = value
    import html

    return {key: html.unescape(value) for key, value in data.items()}


def test_three_actors(actors, configured):
    url = _url(actors.owner.org_id)
    assert {name: actors.session_client(name).get(url).status_code for name in ("owner", "partner", "stranger")} \
        == {"owner": 200, "partner": 403, "stranger": 404}
    # a read partner cannot post either; the member (role ``member``) holds ``configure``
    assert actors.session_client("partner").post(url, {"file": upload(_export(actors))}).status_code == 403
    assert actors.session_client("stranger").post(url, {"file": upload({})}).status_code == 404
    assert actors.member_client("owner").get(url).status_code == 200


def test_configure_partner_may_import(actors, configured, configure_partner):
    assert actors.session_client("partner").get(_url(actors.owner.org_id)).status_code == 200


def test_dealer_edit_is_versioned_with_both_organizations(actors, configured, configure_partner, in_english):
    org = actors.owner.organization
    before = _count(org)
    client = actors.session_client("partner")
    response = client.post(_url(actors.owner.org_id), {"file": upload(_renamed(_export(actors, "partner"),
                                                                               "Filiale Hafen")),
                                                       "summary": "Umbenennung"})
    assert response.status_code == 200
    body = response.content.decode()
    step = body.split('data-testid="plan-step"')[1].split("</tr>")[0]
    assert 'data-action="update" data-object="outlet" data-path="/outlets/1"' in step
    assert "Filiale Nord" in step and "Filiale Hafen" in step
    assert body.count('data-testid="plan-step"') == 1 and 'data-testid="configuration-acting"' in body
    assert _count(org) == before  # the preview writes nothing
    response = client.post(_url(actors.owner.org_id), _confirm_data(body))
    assert response.status_code == 302
    version = ConfigurationVersion.unscoped.get(organization=org, number=before + 1)
    assert response["Location"] == f"/o/{actors.owner.org_id}/configuration/history/{version.number}/"
    assert version.source == ConfigurationSource.IMPORT and version.summary == "Umbenennung"
    assert version.actor_user == actors.partner.user
    assert version.acting_organization == actors.partner.organization
    assert [c["path"] for c in version.changes] == ["outlets[2].name"]
    assert Outlet.unscoped.get(organization=org, number=2).name == "Filiale Hafen"
    page = client.get(response["Location"]).content.decode()
    assert "Paul Partner" in page and "on behalf, by Partner Kassenhandel GmbH" in page
    assert 'data-source="import"' in page and "configuration import" in page
    history = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/configuration/history/").content
    assert "on behalf, by Partner Kassenhandel GmbH" in history.decode()


def test_export_import_round_trip_changes_nothing(actors, configured, in_english):
    org = actors.owner.organization
    before, document = _count(org), snapshot(org)
    client = actors.session_client("owner")
    response = client.post(_url(actors.owner.org_id), {"file": upload(_export(actors))})
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="import-plan-empty"' in body
    assert 'data-testid="import-confirm"' not in body
    # confirming the unchanged document anyway stores no version
    response = client.post(_url(actors.owner.org_id), {"confirm": "1", "document": json.dumps(document)})
    assert response.status_code == 302 and response["Location"] == f"/o/{actors.owner.org_id}/configuration/"
    assert _count(org) == before and snapshot(org) == document


def test_errors_are_shown_with_their_paths(actors, configured, in_english):
    document = _export(actors)
    document["outlets"].append({"number": 7, "street": "Weg", "house_number": "7", "postal_code": "10115",
                                "city": "Berlin"})  # a new outlet without name
    document["outlets"][0]["number"] = "eins"
    response = actors.session_client("owner").post(_url(actors.owner.org_id), {"file": upload(document)})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="import-error"' in body and 'data-testid="import-errors"' in body
    assert 'data-path="/outlets/0/number"' in body
    assert 'data-testid="import-form"' in body and 'data-testid="import-confirm"' not in body


def test_semantic_errors_are_shown_with_their_paths(actors, configured, in_english):
    document = {"format": "kassenportal.configuration/1",
                "outlets": [{"number": 7, "street": "Weg", "house_number": "7", "postal_code": "10115",
                             "city": "Berlin"}]}
    response = actors.session_client("owner").post(_url(actors.owner.org_id), {"file": upload(document)})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-path="/outlets/0/name" data-code="E_REQUIRED"' in body


def test_no_json(actors, configured, in_english):
    client = actors.session_client("owner")
    response = client.post(_url(actors.owner.org_id), {"file": upload(b"{not json")})
    assert response.status_code == 400 and "The file is not valid JSON" in response.content.decode()
    response = client.post(_url(actors.owner.org_id), {"file": upload([1, 2])})
    assert response.status_code == 400 and "must be a JSON object" in response.content.decode()


def test_a_changed_configuration_is_planned_again(actors, configured, in_english):
    from tenants.services.premises import update_outlet

    org = actors.owner.organization
    client = actors.session_client("owner")
    body = client.post(_url(actors.owner.org_id),
                       {"file": upload(_renamed(_export(actors), "Filiale Hafen"))}).content.decode()
    update_outlet(actor=None, outlet=configured["outlets"][0], changes={"name": "Filiale Zentrum"})
    before = _count(org)
    response = client.post(_url(actors.owner.org_id), _confirm_data(body))
    assert response.status_code == 409 and 'data-testid="import-stale"' in response.content.decode()
    assert _count(org) == before
    # the document of the preview also renames outlet 1 back: the new plan shows both updates
    assert response.content.decode().count('data-testid="plan-step"') == 2
    assert client.post(_url(actors.owner.org_id), _confirm_data(response.content.decode())).status_code == 302
    assert _count(org) == before + 1
