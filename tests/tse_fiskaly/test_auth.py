"""Authentication: key/secret login, proactive refresh with the refresh token, one re-auth on 401."""

import time
import uuid

import pytest

from tse.backends.fiskaly_client import FiskalyError


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_authenticate_returns_claims(fake, client):
    info = client.authenticate()
    assert info.env == "TEST"
    assert info.organization_id == fake.organization_id
    assert info.access_token_expires_at is not None
    assert fake.auth_grants == ["api_key"]


def test_first_call_authenticates_lazily_and_reuses_the_token(fake, client):
    for _ in range(3):
        with pytest.raises(FiskalyError) as excinfo:
            client.retrieve_tss(str(uuid.uuid4()))
        assert excinfo.value.status_code == 404
    assert fake.auth_grants == ["api_key"]
    assert len(fake.calls("POST", "/auth")) == 1


def test_wrong_credentials_are_final(fake, make_client):
    client = make_client(api_secret="wrong")
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate()
    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable) == (401, "E_UNAUTHORIZED", False)
    assert len(fake.calls("POST", "/auth")) == 1


def test_access_token_is_refreshed_before_it_expires(fake, make_client):
    clock = ManualClock()
    fake.access_token_ttl = 100
    client = make_client(clock=clock, refresh_leeway=10)
    client.authenticate()
    clock.now += 89  # 11 s left: still used
    client.create_tss(str(uuid.uuid4()))
    assert fake.auth_grants == ["api_key"]
    clock.now += 2  # 9 s left: inside the leeway, refreshed with the refresh token
    client.create_tss(str(uuid.uuid4()))
    assert fake.auth_grants == ["api_key", "refresh_token"]
    assert not [r for r in fake.requests if r.status == 401]


def test_expired_refresh_token_falls_back_to_key_and_secret(fake, make_client):
    clock = ManualClock()
    fake.access_token_ttl, fake.refresh_token_ttl = 100, 1000
    client = make_client(clock=clock, refresh_leeway=10)
    client.authenticate()
    clock.now += 995  # both tokens are past their (leeway-adjusted) lifetime
    client.create_tss(str(uuid.uuid4()))
    assert fake.auth_grants == ["api_key", "api_key"]


def test_rejected_refresh_token_falls_back_to_key_and_secret(fake, make_client):
    clock = ManualClock()
    fake.access_token_ttl = 100
    client = make_client(clock=clock, refresh_leeway=10)
    client.authenticate()
    fake.expire_refresh_tokens()
    clock.now += 95
    client.create_tss(str(uuid.uuid4()))
    assert fake.auth_grants == ["api_key", "api_key"]
    assert [r.status for r in fake.calls("POST", "/auth")] == [200, 401, 200]


def test_401_triggers_exactly_one_reauthentication(fake, client):
    client.authenticate()
    fake.expire_access_tokens()  # e.g. the server revoked or expired them early
    tss = client.create_tss(str(uuid.uuid4()))
    assert tss.state == "CREATED"
    assert fake.auth_grants == ["api_key", "api_key"]
    assert [(r.method, r.status) for r in fake.requests] == [("POST", 200), ("PUT", 401), ("POST", 200), ("PUT", 200)]


def test_persistent_401_is_raised_after_one_reauthentication(fake, client):
    client.authenticate()
    fake.inject_error(401, count=10, code="E_UNAUTHORIZED", method="PUT")
    with pytest.raises(FiskalyError) as excinfo:
        client.create_tss(str(uuid.uuid4()))
    assert excinfo.value.status_code == 401
    assert not excinfo.value.retryable
    assert len(fake.calls("PUT")) == 2
    assert fake.auth_grants == ["api_key", "api_key"]


def test_real_http_token_expiry(fake, make_client):
    """The fake really expires tokens; the client's own refresh keeps it from ever seeing a 401."""
    fake.access_token_ttl = 0.3
    client = make_client(refresh_leeway=0.0)
    client.authenticate()
    time.sleep(0.35)
    client.create_tss(str(uuid.uuid4()))
    assert fake.auth_grants == ["api_key", "refresh_token"]
