"""The organization pages with the three actors (session users): owner, permitted partner, stranger."""

import pytest

pytestmark = pytest.mark.django_db

# page -> expected status for (owner, partner with the read right, stranger)
PAGES = {
    "": (200, 200, 404),
    "settings/": (200, 200, 404),
    "members/": (200, 404, 404),
    "api-keys/": (200, 404, 404),
    "audit/": (200, 404, 404),
}


@pytest.mark.parametrize("page", PAGES)
def test_pages_answer_by_actor(actors, page):
    url = f"/o/{actors.owner.org_id}/{page}"
    for name, expected in zip(("owner", "partner", "stranger"), PAGES[page], strict=True):
        response = actors.session_client(name).get(url)
        assert response.status_code == expected, f"{name} GET {url}: {response.status_code}"


def test_a_partner_sees_the_grant_banner_but_cannot_edit_company_data(actors):
    client = actors.session_client("partner")
    url = f"/o/{actors.owner.org_id}/"
    body = client.get(url).content.decode()
    assert "Zugriffsrechte" in body and 'data-testid="acting-banner"' in body
    assert actors.partner.organization.name in body
    assert 'data-testid="acting-banner"' not in actors.session_client("owner").get(url).content.decode()
    response = client.post(f"{url}settings/", {"name": "Übernommen GmbH"})
    assert response.status_code == 403  # visible through the grant, but `read` does not allow changes
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.name != "Übernommen GmbH"


@pytest.mark.parametrize("action", ["members/", "api-keys/"])
def test_strangers_and_partners_cannot_post_to_member_pages(actors, action):
    url = f"/o/{actors.owner.org_id}/{action}"
    for name in ("partner", "stranger"):
        response = actors.session_client(name).post(url, {"email": "x@example.com", "role": "owner", "name": "k"})
        assert response.status_code == 404
    assert not actors.owner.organization.invitations.exists()
    assert actors.owner.organization.api_keys.count() == 1  # only the fixture's key


def test_revoking_an_api_key_of_another_organization_is_404(actors):
    key = actors.owner.api_key
    response = actors.session_client("stranger").post(
        f"/o/{actors.stranger.org_id}/api-keys/{key.public_id}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
