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
