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
