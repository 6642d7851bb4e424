"""Pages of rollout templates: the three actors on every page, create with errors, versions and diffs, nav."""

import copy
import json

import pytest

from tenants.models import MembershipRole, RolloutTemplate, RolloutTemplateVersion
from tests.factories import add_member, make_user
from tests.helpers import session_client

pytestmark = pytest.mark.usefixtures("in_english")


def org_base(actor):
    return f"/o/{actor.org_id}/rollout/templates/"


def pages(actors, template):
    base = org_base(actors.partner)
    detail = f"{base}{template.public_id}/"
    return [base, f"{base}new/", detail, f"{detail}versions/1/", f"{detail}versions/new/", f"{detail}shares/"]


def test_every_page_three_actors(actors, dealer_template):
    for url in pages(actors, dealer_template):
        assert actors.session_client("partner").get(url).status_code == 200, url
        assert actors.member_client("partner").get(url).status_code == 200, url
        for name in ("owner", "stranger"):
            assert actors.session_client(name).get(url).status_code == 404, (name, url)


def test_a_partner_acting_in_the_operators_account_has_no_templates(actors, dealer_template):
    url = f"{org_base(actors.owner)}{dealer_template.public_id}/"
    assert actors.session_client("partner").get(org_base(actors.owner)).status_code == 404
    assert actors.session_client("partner").get(url).status_code == 404
    assert actors.session_client("owner").get(url).status_code == 404  # not its template


def test_list_shows_owner_and_latest_version(actors, dealer_template):
    html = actors.session_client("partner").get(org_base(actors.partner)).content.decode()
    assert "Filiale Standard" in html and actors.partner.organization.name in html
    assert "v1" in html and "erste Fassung" in html
    assert 'data-testid="create-link"' in html
    assert 'data-testid="nav-rollout-templates"' in html and 'data-testid="nav-rollout-jobs"' in html


def test_the_nav_is_for_creators_and_dealers_with_configure(actors, dealer_template):
    html = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-testid="nav-rollout-templates"' not in html
    viewer = add_member(actors.partner.organization, make_user(), MembershipRole.VIEWER).user
    html = session_client(viewer).get(org_base(actors.partner)).content.decode()
    assert 'data-testid="nav-rollout-templates"' not in html
    assert 'data-testid="create-link"' not in html


def test_create(actors, document):
    client = actors.session_client("partner")
    response = client.post(f"{org_base(actors.partner)}new/", {
        "name": "Filiale", "description": "Standard", "document": json.dumps(document), "note": "erste"})
    template = RolloutTemplate.unscoped.get()
    assert response.status_code == 302
    assert response["Location"] == f"{org_base(actors.partner)}{template.public_id}/"
    assert RolloutTemplateVersion.unscoped.get(template=template).document == document


def test_create_shows_the_errors_by_path(actors, document):
    document["outlets"][0].pop("number")
    document["outlets"][0]["name"] = "{{ shop }}"
    response = actors.session_client("partner").post(f"{org_base(actors.partner)}new/", {
        "name": "Filiale", "document": json.dumps(document)})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-path="/outlets/0/number"' in html and 'data-path="/outlets/0/name"' in html
    assert "E_VARIABLE_UNDECLARED" in html
    assert "{{ shop }}" in html  # the document is shown again
    assert not RolloutTemplate.unscoped.exists()


def test_create_refuses_broken_json(actors):
    response = actors.session_client("partner").post(f"{org_base(actors.partner)}new/", {
        "name": "Filiale", "document": '{"format": '})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


def test_operators_cannot_create_templates(actors):
    assert actors.session_client("owner").get(f"{org_base(actors.owner)}new/").status_code == 403


def test_detail_shows_versions_variables_and_roll_out(actors, dealer_template):
    html = actors.session_client("partner").get(f"{org_base(actors.partner)}{dealer_template.public_id}/"
                                                ).content.decode()
    assert 'data-testid="apply-link"' in html
    assert f"/o/{actors.partner.org_id}/rollout/templates/{dealer_template.public_id}/apply/" in html
    assert 'data-name="store"' in html and 'data-name="registers"' in html
    assert "[A-Z0-9]{1,8}" in html
    assert 'data-number="1"' in html and "Paul Partner" in html and "erste Fassung" in html
    assert 'data-testid="update-form"' in html


def test_rename_and_archive(actors, dealer_template):
    client = actors.session_client("partner")
    url = f"{org_base(actors.partner)}{dealer_template.public_id}/"
    assert client.post(url, {"name": "Filiale Neu", "description": "x"}).status_code == 302
    dealer_template.refresh_from_db()
    assert dealer_template.name == "Filiale Neu"
    assert client.post(url, {"name": ""}).status_code == 400
    for name in ("owner", "stranger"):
        assert actors.session_client(name).post(f"{url}archive/").status_code == 404
    assert client.post(f"{url}archive/").status_code == 302
    dealer_template.refresh_from_db()
    assert dealer_template.archived_at is not None
    html = client.get(url).content.decode()
    assert 'data-testid="archived-badge"' in html and 'data-testid="apply-link"' not in html
    assert "Filiale Neu" not in client.get(org_base(actors.partner)).content.decode()
    assert "Filiale Neu" in client.get(org_base(actors.partner), {"archived": "1"}).content.decode()


def test_new_version_is_prefilled_and_stored(actors, dealer_template, document):
    client = actors.session_client("partner")
    url = f"{org_base(actors.partner)}{dealer_template.public_id}/versions/new/"
    form = client.get(url).content.decode()
    assert "Filiale {{ store }}" in form and "kassenportal.rollout-template/1" in form
    assert client.post(url, {"document": json.dumps(document)}).status_code == 409  # unchanged
    changed = copy.deepcopy(document)
    changed["variables"]["registers"]["default"] = 3
    response = client.post(url, {"document": json.dumps(changed), "note": "drei Kassen"})
    assert response.status_code == 302
    assert response["Location"].endswith("/versions/2/")
    changed["outlets"][0]["betriebsstaette"] = "nord"
    response = client.post(url, {"document": json.dumps(changed)})
    assert response.status_code == 400
    assert 'data-path="/outlets/0/betriebsstaette"' in response.content.decode()


def test_version_page_shows_document_and_diff(actors, dealer_template, document):
    from portal.tenancy import actor_for_user
    from tenants.services.rollout.templates import add_version

    changed = copy.deepcopy(document)
    changed["variables"]["registers"]["default"] = 3
    add_version(actor_for_user(actors.partner.user), dealer_template, changed, "drei")
    again = copy.deepcopy(changed)
    again["outlets"][0]["name"] = "Markt {{ store }}"
    add_version(actor_for_user(actors.partner.user), dealer_template, again, "Markt")
    client = actors.session_client("partner")
    url = f"{org_base(actors.partner)}{dealer_template.public_id}/versions/"
    html = client.get(f"{url}3/").content.decode()
    assert "Changes against version 2" in html
    assert "outlets[1].name" in html and "variables.registers.default" not in html
    assert html.count('data-testid="change-row"') == 1
    html = client.get(f"{url}3/", {"against": 1}).content.decode()
    assert "Changes against version 1" in html
    assert "outlets[1].name" in html and "variables.registers.default" in html
    html = client.get(f"{url}1/").content.decode()
    assert "Contents of the first version" in html and 'data-op="added"' in html
    assert "&quot;kassenportal.rollout-template/1&quot;" in html
    assert client.get(f"{url}9/").status_code == 404
    assert client.get(f"{url}3/", {"against": 9}).status_code == 404
    for name in ("owner", "stranger"):
        assert actors.session_client(name).get(f"{url}3/").status_code == 404
