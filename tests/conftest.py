"""Shared test set-up.

Tests run on PostgreSQL and Redis when ``DATABASE_URL``/``REDIS_URL`` are set (the README's test
command sets them). Every test body runs with tenant scopes *disabled* so fixtures and assertions
can query freely; each request made through a test client opens its own scope in the middleware,
exactly as in production, so the isolation under test is the real one.
"""

import pytest
from django_scopes import scopes_disabled

pytest_plugins = ["tests.browser", "tests.tse_units", "tests.workers", "tests.configuration_fixtures"]


@pytest.fixture(autouse=True)
def _scopes_disabled_outside_requests():
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Stored archives (TAR, DSFinV-K) of a test go to a temporary folder, never to data/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


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


@pytest.fixture(autouse=True)
def _contract_texts(request):
    """Version 1 of the role contracts comes from a data migration (tenants 0004); a transactional
    test flushes the database, so tests after it get the texts back here."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
    if not transactional and "db" not in request.fixturenames and marker is None:
        return  # a test without database access
    request.getfixturevalue("transactional_db" if transactional else "db")
    from importlib import import_module

    from django.apps import apps

    from tenants.models import ContractKind, ContractVersion

    if ContractVersion.objects.filter(version=1).count() < len(ContractKind.values):
        import_module("tenants.migrations.0004_initial_contract_texts").create(apps, None)
    from tse.models import BsiCertification

    bsi_list = import_module("tse.migrations.0008_certifications_notification_fields")
    if BsiCertification.objects.count() < bsi_list.shipped_count():  # flushed by a transactional test
        bsi_list.seed_certifications(apps, None)
