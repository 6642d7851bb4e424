"""Sharing a creator's template with its dealers: the dealer reads and may roll out, never changes; others 404."""

import pytest

from portal.models import LogEntry
from tenants.models import OrganizationRole, PosSystemDealer, RoleKind, RoleStatus, RolloutTemplateShare
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout.templates import partner_dealers, share_template
from tests.helpers import assert_actors, assert_envelope, result_ids

OUTSIDERS = {"owner": 404, "stranger": 404, "other": 404}


def base(template):
    return f"/api/v1/rollout-templates/{template.public_id}"


@pytest.fixture
def shared(clients, creator_template, actors):
    response = clients.api("creator").put(f"{base(creator_template)}/shares/{actors.partner.org_id}")
    assert response.status_code == 201, response.content
    return creator_template


def test_share_three_actors(clients, actors, creator_template, other_dealer):
    url = f"{base(creator_template)}/shares/{actors.partner.org_id}"
    responses = assert_actors(clients.api, "PUT", url, {"owner": 404, "stranger": 404, "partner": 404,
                                                       "creator": 201})
    assert responses["creator"].json()["dealer"]["id"] == actors.partner.org_id
    assert clients.api("creator").put(url).status_code == 200  # idempotent
    assert RolloutTemplateShare.unscoped.filter(template=creator_template).count() == 1
    entry = LogEntry.objects.get(action="tenants.rollout_template.shared")
    assert entry.organization == creator_template.organization
    assert entry.data["dealer"] == actors.partner.org_id


def test_the_dealer_reads_but_cannot_change(clients, actors, shared, document):
    for url in (base(shared), f"{base(shared)}/versions", f"{base(shared)}/versions/1",
                f"{base(shared)}/versions/1/diff", f"{base(shared)}/shares"):
        assert_actors(clients.api, "GET", url, {**OUTSIDERS, "partner": 200, "creator": 200})
    listed = clients.api("partner").get(f"/api/v1/organizations/{actors.partner.org_id}/rollout-templates")
    assert result_ids(listed) == [str(shared.public_id)]
    assert listed.json()["results"][0]["owner"]["id"] == str(shared.organization.public_id)

    document["variables"]["registers"]["default"] = 4
    assert_actors(clients.api, "PATCH", base(shared), {**OUTSIDERS, "partner": (403, "E_PERMISSION_DENIED")},
                  data={"name": "Meins"})
    assert_actors(clients.api, "POST", f"{base(shared)}/versions",
                  {**OUTSIDERS, "partner": (403, "E_PERMISSION_DENIED")}, data={"document": document})
    assert_actors(clients.api, "PUT", f"{base(shared)}/shares/{actors.partner.org_id}",
                  {**OUTSIDERS, "partner": (403, "E_PERMISSION_DENIED")})
    assert_actors(clients.api, "DELETE", f"{base(shared)}/shares/{actors.partner.org_id}",
                  {**OUTSIDERS, "partner": (403, "E_PERMISSION_DENIED")})
    assert RolloutTemplateShare.unscoped.filter(template=shared).count() == 1
    shared.refresh_from_db()
    assert shared.name == "Kassenbau Standard"


def test_shares_list(clients, actors, shared):
    rows = clients.api("creator").get(f"{base(shared)}/shares").json()["results"]
    assert [row["dealer"]["id"] for row in rows] == [actors.partner.org_id]
    rows = clients.api("partner").get(f"{base(shared)}/shares").json()["results"]
    assert [row["dealer"]["id"] for row in rows] == [actors.partner.org_id]


def test_unrelated_dealers_are_refused(clients, creator_template, other_dealer, actors):
    response = clients.api("creator").put(f"{base(creator_template)}/shares/{other_dealer.org_id}")
    assert_envelope(response, 409, "E_NOT_A_PARTNER")
    response = clients.api("creator").put(f"{base(creator_template)}/shares/{actors.stranger.org_id}")
    assert_envelope(response, 409, "E_NOT_A_PARTNER")  # an operator, not a dealer
    response = clients.api("creator").put(f"{base(creator_template)}/shares/{creator_template.public_id}")
    assert_envelope(response, 409, "E_NOT_A_PARTNER")  # no organization at all
    assert_envelope(clients.api("other").get(base(creator_template)), 404, "E_NOT_FOUND")
    assert not RolloutTemplateShare.unscoped.exists()


def test_the_creators_dealers(creator, actors, other_dealer, pos_catalogue):
    assert list(partner_dealers(creator.organization)) == [actors.partner.organization]
    PosSystemDealer.unscoped.create(pos_system=pos_catalogue["system"], organization=creator.organization,
                                    dealer=other_dealer.organization)
    assert set(partner_dealers(creator.organization)) == {actors.partner.organization, other_dealer.organization}
    OrganizationRole.unscoped.filter(organization=other_dealer.organization, kind=RoleKind.DEALER).update(
        status=RoleStatus.TERMINATED)
    assert list(partner_dealers(creator.organization)) == [actors.partner.organization]


def test_unshare(clients, actors, shared):
    url = f"{base(shared)}/shares/{actors.partner.org_id}"
    assert_actors(clients.api, "DELETE", url, {"owner": 404, "stranger": 404, "creator": 204})
    assert_envelope(clients.api("partner").get(base(shared)), 404, "E_NOT_FOUND")
    assert clients.api("creator").delete(url).status_code == 204  # idempotent
    assert LogEntry.objects.filter(action="tenants.rollout_template.unshared").count() == 1


def test_archived_templates_are_not_shared(clients, actors, creator_template, creator):
    clients.api("creator").patch(base(creator_template), {"archived": True}, content_type="application/json")
    creator_template.refresh_from_db()
    with pytest.raises(ConfigurationError) as info:
        share_template(None, creator_template, actors.partner.organization)
    assert info.value.code == "E_TEMPLATE_ARCHIVED"


def test_share_pages(clients, actors, creator_template, creator):
    org = creator.org_id
    url = f"/o/{org}/rollout/templates/{creator_template.public_id}/shares/"
    page = clients.session("creator").get(url)
    assert page.status_code == 200
    assert 'data-testid="share-form"' in page.content.decode()
    assert actors.partner.organization.name in page.content.decode()
    for name in ("owner", "stranger", "partner"):
        assert clients.session(name).get(url).status_code == 404  # the creator's organization is not theirs
    response = clients.session("creator").post(url, {"dealer": actors.partner.org_id})
    assert response.status_code == 302
    assert RolloutTemplateShare.unscoped.filter(template=creator_template, dealer=actors.partner.organization).exists()

    # the dealer sees it under its own organization, read-only, with the roll-out link
    dealer_url = f"/o/{actors.partner.org_id}/rollout/templates/"
    listing = clients.session("partner").get(dealer_url).content.decode()
    assert creator_template.name in listing and 'data-testid="shared-badge"' in listing
    detail = clients.session("partner").get(f"{dealer_url}{creator_template.public_id}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'data-testid="read-only"' in html and 'data-testid="apply-link"' in html
    assert 'data-testid="new-version-link"' not in html and 'data-testid="update-form"' not in html
    assert clients.session("partner").get(f"{dealer_url}{creator_template.public_id}/versions/new/").status_code == 403
    assert clients.session("partner").post(f"{dealer_url}{creator_template.public_id}/", {"name": "X"}).status_code \
        == 403
    assert clients.session("partner").post(f"{dealer_url}{creator_template.public_id}/shares/",
                                           {"dealer": actors.partner.org_id}).status_code == 403
    assert clients.session("other").get(f"/o/{actors.partner.org_id}/rollout/templates/"
                                        f"{creator_template.public_id}/").status_code == 404

    remove = f"{url}{actors.partner.org_id}/remove/"
    assert clients.session("partner").post(f"{dealer_url}{creator_template.public_id}/shares/"
                                           f"{actors.partner.org_id}/remove/").status_code == 403
    assert clients.session("creator").post(remove).status_code == 302
    assert not RolloutTemplateShare.unscoped.exists()
    assert clients.session("partner").get(f"{dealer_url}{creator_template.public_id}/").status_code == 404
