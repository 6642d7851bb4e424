"""The configuration API tests share the configuration of the page tests."""

from tests.configuration_pages.conftest import configured  # noqa: F401
