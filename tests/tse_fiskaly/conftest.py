"""Fixtures: a fake fiskaly server on a free local port and clients talking to it over HTTP."""

import time
import uuid
from dataclasses import dataclass

import pytest

from tests.fakes.fiskaly_server import FakeFiskalyServer
from tse.backends.fiskaly_client import FiskalyClient, FiskalyConfig, TssState

ADMIN_PIN = "123456"


@pytest.fixture
def fake():
    with FakeFiskalyServer() as server:
        yield server


class RecordingSleep:
    """Really sleeps (so Retry-After is honoured in wall time) and records each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def sleeper():
    return RecordingSleep()


@pytest.fixture
def make_client(fake, sleeper):
    clients: list[FiskalyClient] = []

    def make(server: FakeFiskalyServer | None = None, *, clock=time.monotonic, **overrides) -> FiskalyClient:
        server = server or fake
        settings = {
            "api_key": server.api_key,
            "api_secret": server.api_secret,
            "base_url": server.base_url,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
        }
        settings.update(overrides)
        client = FiskalyClient(FiskalyConfig(**settings), sleep=sleeper, clock=clock)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


@dataclass
class ReadyTss:
    tss_id: str
    client_id: str
    admin_puk: str
    serial_number: str = "KASSE-1"


def set_up_tss(client: FiskalyClient) -> ReadyTss:
    """The documented setup sequence up to a registered client, admin logged out again."""
    tss_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
    created = client.create_tss(tss_id)
    client.update_tss(tss_id, TssState.UNINITIALIZED)
    client.change_admin_pin(tss_id, created.admin_puk, ADMIN_PIN)
    client.authenticate_admin(tss_id, ADMIN_PIN)
    client.update_tss(tss_id, TssState.INITIALIZED)
    client.create_client(tss_id, client_id, "KASSE-1")
    client.logout_admin(tss_id)
    return ReadyTss(tss_id, client_id, created.admin_puk)


@pytest.fixture
def ready(client) -> ReadyTss:
    return set_up_tss(client)


# --- the portal's fiskaly backend against the fake -------------------------------------------------


@pytest.fixture
def fiskaly_settings(fake, settings):
    """The portal talks to the fake: its URL and credentials, short backoff and export polling."""
    settings.FISKALY_BASE_URL = fake.base_url
    settings.FISKALY_API_KEY = fake.api_key
    settings.FISKALY_API_SECRET = fake.api_secret
    settings.FISKALY_BACKOFF_BASE = 0.01
    settings.FISKALY_BACKOFF_MAX = 0.02
    settings.FISKALY_EXPORT_POLL_SECONDS = 0
    settings.FISKALY_EXPORT_TIMEOUT_SECONDS = 5
    return settings


@pytest.fixture
def fiskaly_operator(db):
    from tests.factories import make_organization

    return make_organization(name="Fiskaly Betriebs GmbH")


def new_fiskaly_unit(organization, **kwargs):
    from tse.models import BackendType
    from tse.services.signing_units import create_signing_unit

    return create_signing_unit(actor=None, organization=organization, backend=BackendType.FISKALY, mode="test",
                               **kwargs)


@pytest.fixture
def fiskaly_unit(fiskaly_settings, fiskaly_operator):
    """An initialized fiskaly signing unit (through ``initialize_signing_unit``)."""
    from tse.services.signing_units import initialize_signing_unit

    return initialize_signing_unit(actor=None, signing_unit=new_fiskaly_unit(fiskaly_operator))
