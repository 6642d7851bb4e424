"""Shared test set-up.

Tests run on PostgreSQL and Redis when ``DATABASE_URL``/``REDIS_URL`` are set (the README's test
command sets them). Every test body runs with tenant scopes *disabled* so fixtures and assertions
can query freely; each request made through a test client opens its own scope in the middleware,
exactly as in production, so the isolation under test is the real one.
"""

import pytest
from django_scopes import scopes_disabled


@pytest.fixture(autouse=True)
def _scopes_disabled_outside_requests():
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


# --- the three actors (see tests/helpers.py) ------------------------------------------------


@pytest.fixture
def actors(db):
    """Owner (operator), partner (dealer granted ``read``) and stranger; see ``tests.helpers``."""
    from tests.helpers import make_three_actors

    return make_three_actors()


@pytest.fixture
def owner(actors):
    return actors.owner


@pytest.fixture
def partner(actors):
    return actors.partner


@pytest.fixture
def stranger(actors):
    return actors.stranger


@pytest.fixture
def read_only_key(actors):
    """A read-only API key of the owner organization: ``(ApiKey, plaintext)``."""
    from tests.factories import make_api_key

    return make_api_key(actors.owner.organization, can_write=False, name="owner read-only key")


@pytest.fixture
def in_english(settings):
    """For tests that read English messages: the portal's default language is German."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
