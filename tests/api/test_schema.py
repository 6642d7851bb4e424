"""The committed OpenAPI file, the served schema and the interactive docs."""

import difflib
import re

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation

SCHEMA_FILE = settings.BASE_DIR / "openapi.yaml"
REGENERATE = ".venv/bin/python manage.py spectacular --lang en --file openapi.yaml --validate"


def test_it_matches_the_committed_openapi_file(tmp_path):
    generated_file = tmp_path / "openapi.yaml"
    # The committed schema is English, so translations of labels do not count as drift.
    with translation.override("en"):
        call_command("spectacular", "--lang", "en", "--file", str(generated_file), "--validate")
    generated = generated_file.read_text(encoding="utf-8")
    assert SCHEMA_FILE.exists(), f"{SCHEMA_FILE.name} is missing; create it with `{REGENERATE}`"
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    if generated != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    generated.splitlines(keepends=True),
                    fromfile="openapi.yaml (committed)",
                    tofile="openapi.yaml (generated)",
                )
            )[:80]
        )
        pytest.fail(
            f"The API schema drifted from openapi.yaml. Regenerate and commit it: `{REGENERATE}`\n{diff}", pytrace=False
        )


def test_it_describes_every_tenants_endpoint_in_the_committed_file():
    schema = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))
    paths = schema["paths"]
    org = "/api/v1/organizations/{organization_id}"
    assert set(paths["/api/v1/me"]) == {"get"}
    assert set(paths["/api/v1/organizations"]) == {"get"}
    assert set(paths[org]) == {"get", "put", "patch"}
    assert set(paths[f"{org}/memberships"]) == {"get"}
    assert set(paths[f"{org}/memberships/{{membership_id}}"]) == {"get", "patch", "delete"}
    assert set(paths[f"{org}/api-keys"]) == {"get", "post"}
    assert set(paths[f"{org}/api-keys/{{api_key_id}}"]) == {"get", "delete"}
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    created = schema["components"]["schemas"]["ApiKeyCreated"]["properties"]
    assert "key" in created
    assert "key" not in schema["components"]["schemas"]["ApiKey"]["properties"]


@pytest.mark.django_db
def test_it_serves_the_schema_without_authentication():
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["info"]["title"] == "Kassenportal API"
    assert "/api/v1/organizations" in schema["paths"]


@pytest.mark.django_db
def test_it_serves_the_schema_even_with_a_bad_api_key():
    response = Client(headers={"Authorization": "Bearer kp_test_nope.nope"}).get("/api/v1/schema/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_it_serves_the_docs_without_authentication_and_only_with_local_assets():
    client = Client()
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    assert assets, html[:500]
    assert all(url.startswith("/static/") for url in assets), assets
    assert not re.search(r"https?://|//cdn", html.split("<script>")[0]), "external URL in the docs page head"
    assert "/api/v1/schema/" in html
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


@pytest.mark.django_db
def test_there_is_no_redoc_page_that_would_load_remote_fonts():
    # drf-spectacular's redoc template pulls Google Fonts; the portal offers only the Swagger UI.
    assert Client().get("/api/v1/redoc/").status_code == 404
