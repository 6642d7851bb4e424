"""History, one version with its diff (also ``?against=``), and the JSON export: three actors and rendering."""

import json

import pytest

from tenants.models import ConfigurationVersion
from tenants.services.configuration.document import digest, snapshot
from tests.configuration_pages.conftest import DAY_0

pytestmark = pytest.mark.django_db


def _base(org_id) -> str:
    return f"/o/{org_id}/configuration/"


def _versions(organization) -> list[ConfigurationVersion]:
    return list(ConfigurationVersion.unscoped.filter(organization=organization).order_by("number"))


@pytest.mark.parametrize("path", ["history/", "history/1/", "history/2/?against=1", "export/", "export/?version=1"])
def test_three_actors(actors, configured, path):
    url = _base(actors.owner.org_id) + path
    assert {name: actors.session_client(name).get(url).status_code for name in ("owner", "partner", "stranger")} \
        == {"owner": 200, "partner": 200, "stranger": 404}


def test_unknown_versions_are_404(actors, configured):
    client = actors.session_client("owner")
    base = _base(actors.owner.org_id)
    for path in ("history/999/", "history/1/?against=999", "history/1/?against=x", "export/?version=999",
                 "export/?version=x"):
        assert client.get(base + path).status_code == 404, path
    # another operator's versions do not exist here
    assert actors.session_client("stranger").get(_base(actors.stranger.org_id) + "history/1/").status_code == 404


def test_history_lists_who_when_how(actors, configured, in_english):
    versions = _versions(actors.owner.organization)
    assert len(versions) >= 5
    body = actors.session_client("owner").get(_base(actors.owner.org_id) + "history/").content.decode()
    for version in versions:
        assert f'data-testid="version-{version.number}"' in body
    row = body.split(f'data-testid="version-{versions[0].number}"')[1].split("</tr>")[0]
    assert "Olga Owner" in row and 'data-source="manual"' in row and "changed by hand" in row
    berlin = DAY_0.strftime("%d.%m.%Y") + " 10:00"  # 08:00 UTC
    assert berlin in row
    assert "on behalf" not in body


def test_version_page_shows_the_changes_against_the_previous(actors, configured, in_english):
    versions = _versions(actors.owner.organization)
    second_outlet = next(v for v in versions if any(c["path"] == "outlets[2]" for c in v.changes))
    body = actors.session_client("owner").get(
        _base(actors.owner.org_id) + f"history/{second_outlet.number}/").content.decode()
    assert f"Changes since version {second_outlet.number - 1}" in body
    rows = body.split('data-testid="configuration-diff"')[1].split("</table>")[0]
    assert 'data-op="added" data-path="outlets[2]"' in rows and "Filiale Nord" in rows
    assert rows.count('data-testid="diff-row"') == len(second_outlet.changes)
    assert f"?version={second_outlet.number}" in body and "Olga Owner" in body


def test_version_against_any_other(actors, configured, in_english):
    versions = _versions(actors.owner.organization)
    first, last = versions[0], versions[-1]
    body = actors.session_client("owner").get(
        _base(actors.owner.org_id) + f"history/{last.number}/?against={first.number}").content.decode()
    assert f"Differences from version {first.number} to version {last.number}" in body
    rows = body.split('data-testid="configuration-diff"')[1].split("</table>")[0]
    for path in ("outlets[1]", "outlets[2]", "signing_units[tse-2]"):
        assert f'data-path="{path}"' in rows, path
    # comparing a version with itself: no differences
    body = actors.session_client("owner").get(
        _base(actors.owner.org_id) + f"history/{last.number}/?against={last.number}").content.decode()
    assert 'data-testid="configuration-diff-empty"' in body


def test_first_version_and_changed_values(actors, configured, in_english):
    from tenants.services.premises import update_outlet

    update_outlet(actor=None, outlet=configured["outlets"][1], changes={"name": "Filiale Ost"})
    latest = _versions(actors.owner.organization)[-1]
    body = actors.session_client("owner").get(
        _base(actors.owner.org_id) + f"history/{latest.number}/").content.decode()
    row = body.split('data-path="outlets[2].name"')[1].split("</tr>")[0]
    assert "Filiale Nord" in row and "Filiale Ost" in row and "→" in row
    assert 'data-testid="version-who">system' in body
    body = actors.session_client("owner").get(_base(actors.owner.org_id) + "history/1/").content.decode()
    assert "The first recorded configuration" in body


def test_export_downloads_the_current_document(actors, configured):
    response = actors.session_client("partner").get(_base(actors.owner.org_id) + "export/")
    latest = _versions(actors.owner.organization)[-1]
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="configuration-owner-betriebs-gmbh-v{latest.number}.json"')
    document = json.loads(response.content)
    assert document == snapshot(actors.owner.organization)
    assert digest(document) == latest.digest


def test_export_of_a_version(actors, configured):
    first = _versions(actors.owner.organization)[0]
    response = actors.session_client("owner").get(_base(actors.owner.org_id) + f"export/?version={first.number}")
    assert response["Content-Disposition"].endswith(f'-v{first.number}.json"')
    assert json.loads(response.content) == first.document


def test_rollout_versions_link_the_job_for_its_runner(actors, configured, configure_partner, in_english):
    from portal.tenancy import actor_for_user
    from tenants.models import RolloutJob, RolloutTemplate, RolloutTemplateVersion
    from tenants.services.configuration.apply import apply_configuration

    dealer = actors.partner.organization
    template = RolloutTemplate.unscoped.create(organization=dealer, name="Filialen")
    template_version = RolloutTemplateVersion.unscoped.create(template=template, organization=dealer, number=1,
                                                              document={}, digest="0" * 64)
    job = RolloutJob.unscoped.create(organization=dealer, template_version=template_version, total=1)
    document = snapshot(actors.owner.organization)
    document["outlets"][1]["name"] = "Filiale Hafen"
    result = apply_configuration(actor_for_user(actors.partner.user), actors.owner.organization, document,
                                 source="rollout", rollout_job=job)
    number = result.version.number
    url = _base(actors.owner.org_id) + "history/"
    partner = actors.session_client("partner").get(url).content.decode()
    row = partner.split(f'data-testid="version-{number}"')[1].split("</tr>")[0]
    assert f'href="/o/{actors.partner.org_id}/rollout/jobs/{job.public_id}/"' in row
    assert 'data-source="rollout"' in row and "on behalf, by Partner Kassenhandel GmbH" in row
    owner = actors.session_client("owner").get(url).content.decode()
    row = owner.split(f'data-testid="version-{number}"')[1].split("</tr>")[0]
    assert 'data-testid="version-job"' not in row and "rollout template" in row
    page = actors.session_client("partner").get(_base(actors.owner.org_id) + f"history/{number}/").content.decode()
    assert 'data-testid="version-job"' in page and 'data-path="outlets[2].name"' in page
