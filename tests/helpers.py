"""The three-actor isolation helper and envelope assertions, for every feature's API tests.

Three actors
============
Every tenant-owned endpoint must be tested with three callers (``make_three_actors`` /
the ``actors`` fixture in ``tests/conftest.py``):

``owner``
    An **operator** organization with its owner user (membership role ``owner``, e-mail confirmed,
    confirmed TOTP device), a ``member``-role user and a **write** API key. It sees and acts.
``partner``
    A **dealer** organization to which the owner organization granted the ``read`` right
    (``tenants.services.grants.grant_right``), with the same kinds of users and key. It sees what
    the grant covers (e.g. the operator's organization record) and gets **404** for the rest
    (memberships, API keys, audit log of the operator).
``stranger``
    An unrelated operator organization with its users and key. It gets **404** for everything of
    the owner.

Usage::

    from tests.helpers import assert_actors

    def test_it_hides_the_thing(actors):
        url = f"/api/v1/organizations/{actors.owner.organization.public_id}/things"
        assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 404, "stranger": 404})

``client_factory`` turns an actor name into a ``django.test.Client``:

- ``actors.api_client``: ``Authorization: Bearer <write key of the actor>`` (the simplest path);
- ``actors.session_client``: the actor's owner user logged in by session, with a confirmed and
  *verified* TOTP device (owners/admins without one are blocked by ``TwoFactorRequiredMiddleware``
  with ``403 E_TWO_FACTOR_SETUP_REQUIRED`` on ``/api/``);
- ``actors.member_client``: the actor's ``member``-role user by session (needs no 2FA).

``expected`` maps actor names to a status code or to ``(status, code)``; the actors run **in the
order of the dict**, so for a destructive call put the actor that succeeds last. Every error
answer is checked to be the JSON envelope ``{status_code, error, code, message}`` and every 404 to
carry ``code == "E_NOT_FOUND"``. The responses are returned by actor name for further checks.
"""

from dataclasses import dataclass, field
from http import HTTPStatus

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from tenants.models import ApiKey, MembershipRole, Organization, User
from tests.factories import (
    add_member,
    give_totp_device,
    make_api_key,
    make_dealer_with_grant,
    make_organization,
    make_user,
)

__all__ = [
    "ACTOR_NAMES",
    "ENVELOPE_KEYS",
    "PortalActor",
    "ThreeActors",
    "api_client",
    "assert_actors",
    "assert_envelope",
    "make_three_actors",
    "result_ids",
    "session_client",
]

ACTOR_NAMES = ("owner", "partner", "stranger")
ENVELOPE_KEYS = {"status_code", "error", "code", "message"}


def api_client(key: str, **headers) -> Client:
    """A test client that sends ``Authorization: Bearer <key>`` with every request."""
    return Client(headers={"Authorization": f"Bearer {key}", **headers})


def session_client(user: User, device=None) -> Client:
    """A test client logged in as ``user``; with ``device`` the session is also OTP-verified."""
    client = Client()
    client.force_login(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@dataclass
class PortalActor:
    """One of the three actors: its organization, people and write API key."""

    name: str
    organization: Organization
    user: User  # owner of ``organization``, with a confirmed TOTP device
    device: object
    member: User  # member-role user, no 2FA required
    api_key: ApiKey
    key: str  # plaintext of ``api_key`` (write access)
    extra: dict = field(default_factory=dict)  # room for later features (their own objects per actor)

    @property
    def org_id(self) -> str:
        return str(self.organization.public_id)


@dataclass
class ThreeActors:
    owner: PortalActor
    partner: PortalActor
    stranger: PortalActor

    def __getitem__(self, name: str) -> PortalActor:
        if name not in ACTOR_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self):
        return iter([self.owner, self.partner, self.stranger])

    # client factories: name -> django.test.Client
    def api_client(self, name: str) -> Client:
        return api_client(self[name].key)

    def session_client(self, name: str) -> Client:
        actor = self[name]
        return session_client(actor.user, actor.device)

    def member_client(self, name: str) -> Client:
        return session_client(self[name].member)


def _make_actor(name: str, organization: Organization, owner: User) -> PortalActor:
    device = give_totp_device(owner)
    member = add_member(
        organization, make_user(f"{name}.member.{organization.pk}@example.com"), MembershipRole.MEMBER
    ).user
    api_key, key = make_api_key(organization, can_write=True, name=f"{name} write key")
    return PortalActor(
        name=name, organization=organization, user=owner, device=device, member=member, api_key=api_key, key=key
    )


def make_three_actors() -> ThreeActors:
    """Create owner (operator), partner (dealer granted ``read`` by the owner) and stranger."""
    owner_user = make_user("owner@example.com", full_name="Olga Owner")
    owner_org = make_organization(owner_user, roles=("operator",), name="Owner Betriebs GmbH")
    partner_user = make_user("partner@example.com", full_name="Paul Partner")
    partner_org = make_dealer_with_grant(owner_org, partner_user, right="read", name="Partner Kassenhandel GmbH")
    stranger_user = make_user("stranger@example.com", full_name="Stella Stranger")
    stranger_org = make_organization(stranger_user, roles=("operator",), name="Stranger Gastro GmbH")
    return ThreeActors(
        owner=_make_actor("owner", owner_org, owner_user),
        partner=_make_actor("partner", partner_org, partner_user),
        stranger=_make_actor("stranger", stranger_org, stranger_user),
    )


def _describe(response) -> str:
    content = response.content[:800] if not getattr(response, "streaming", False) else b"<streaming>"
    return f"{response.status_code} {content!r}"


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    """Assert ``response`` is the JSON error envelope with ``status`` (and ``code``); return the body."""
    assert response.status_code == status, _describe(response)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) >= ENVELOPE_KEYS, body
    assert set(body) <= ENVELOPE_KEYS | {"details"}, body
    assert body["status_code"] == status, body
    assert body["error"] == HTTPStatus(status).phrase, body
    assert isinstance(body["code"], str) and body["code"].startswith("E_"), body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_actors(client_factory, method: str, url: str, expected: dict, data=None, *, headers=None) -> dict:
    """Perform ``method url`` as each actor of ``expected`` and check the outcome.

    ``client_factory(name)`` returns a ``django.test.Client`` for an actor (see the module
    docstring). ``expected`` maps actor names to a status code or ``(status, code)``; actors run in
    the dict's order. ``data`` is sent as JSON (query string for GET). Error responses must be the
    envelope; 404s must be ``E_NOT_FOUND``. Returns ``{name: response}``.
    """
    responses = {}
    method = method.upper()
    for name, outcome in expected.items():
        status, code = outcome if isinstance(outcome, tuple) else (outcome, None)
        if status == 404 and code is None:
            code = "E_NOT_FOUND"
        client = client_factory(name)
        call = getattr(client, method.lower())
        if method in ("GET", "HEAD"):
            response = call(url, data=data, headers=headers)
        else:
            response = call(url, data=data, content_type="application/json", headers=headers)
        assert response.status_code == status, f"{name}: {method} {url} -> {_describe(response)}, expected {status}"
        if status >= 400:
            assert_envelope(response, status, code)
        responses[name] = response
    return responses


def result_ids(response) -> list[str]:
    """The ``id`` of every row of a paginated list response, in order."""
    assert response.status_code == 200, _describe(response)
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}, body
    return [row["id"] for row in body["results"]]
