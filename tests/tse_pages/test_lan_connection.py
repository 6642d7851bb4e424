"""TSE pages: the create forms per backend (software, fiskaly, LAN) and the LAN connection section."""

import uuid
from unittest import mock

import pytest

from tenants.models import Outlet
from tenants.services.grants import grant_right
from tests.factories import add_member, make_user
from tests.helpers import api_client, session_client
from tse.models import BackendType, LanTseConnection, SigningUnit, TseClient
from tse.services.connections import create_lan_signing_unit, lan_token

pytestmark = pytest.mark.django_db

SERIAL = "5e" * 32
TOKEN = "lan-token-Qx81-never-shown"


def lan_form_data(**overrides):
    return {"backend": "lan", "description": "Theke LAN", "mode": "test", "host": "tse.filiale.local",
            "port": "4433", "token": TOKEN, "tse_serial_number": SERIAL, "max_clients": "3", **overrides}


@pytest.fixture
def lan_unit(owner):
    return create_lan_signing_unit(actor=None, organization=owner.organization, host="10.0.0.20", token=TOKEN,
                                   tse_serial_number=SERIAL, description="Kasse LAN", mode="test")


@pytest.fixture
def viewer_client(owner):
    viewer = make_user()
    add_member(owner.organization, viewer, "viewer")
    return session_client(viewer)


@pytest.fixture
def configure_partner(actors):
    """The dealer (partner) additionally granted ``configure`` by the owner."""
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="configure")
    return actors.session_client("partner")


def list_url(actors):
    return f"/o/{actors.owner.org_id}/tse/"


def test_create_forms_offer_the_usable_backends(actors, settings):
    client = actors.session_client("owner")
    settings.FISKALY_API_KEY = ""
    body = client.get(list_url(actors)).content.decode()
    assert 'data-testid="create-software-tse"' in body and 'data-testid="create-lan-tse"' in body
    assert 'data-testid="create-fiskaly-tse"' not in body and 'value="fiskaly"' not in body
    settings.FISKALY_API_KEY = "portal-fiskaly-key"
    body = client.get(list_url(actors)).content.decode()
    assert 'data-testid="create-fiskaly-tse"' in body
    settings.PORTAL_ENVIRONMENT = "live"
    body = client.get(list_url(actors)).content.decode()
    assert 'data-testid="create-software-tse"' not in body
    assert 'data-testid="create-fiskaly-tse"' in body and 'data-testid="create-lan-tse"' in body


def test_lan_form_fields(actors):
    body = actors.session_client("owner").get(list_url(actors)).content.decode()
    form = body.split('data-testid="create-lan-tse"')[1].split("</form>")[0]
    for name in ("outlet", "description", "mode", "host", "port", "token", "tse_serial_number", "max_clients"):
        assert f'name="{name}"' in form, name
    assert 'name="curve"' not in form and 'type="password"' in form and 'value="4433"' in form
    software = body.split('data-testid="create-software-tse"')[1].split("</form>")[0]
    assert 'name="curve"' in software and 'name="outlet"' in software and 'name="mode"' not in software


def test_owner_creates_a_lan_tse(actors, in_english):
    outlet = Outlet.unscoped.create(organization=actors.owner.organization, number=1, name="Filiale Nord",
                                    street="A", house_number="1", postal_code="10115", city="Berlin")
    client = actors.session_client("owner")
    response = client.post(list_url(actors), lan_form_data(outlet=str(outlet.public_id),
                                                           tse_serial_number=SERIAL.upper()))
    unit = SigningUnit.unscoped.get(organization=actors.owner.organization)
    assert response.status_code == 302 and response["Location"] == f"{list_url(actors)}{unit.public_id}/"
    assert (unit.backend, unit.serial_number, unit.outlet, unit.mode, unit.max_clients) == (
        BackendType.LAN, SERIAL, outlet, "test", 3)
    connection = LanTseConnection.unscoped.get(signing_unit=unit)
    assert TOKEN.encode() not in bytes(connection.encrypted_token) and lan_token(connection) == TOKEN
    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert TOKEN not in html and "The LAN TSE was created" in html
    assert TOKEN not in client.get(list_url(actors)).content.decode()


def test_detail_shows_the_connection_and_the_missing_driver(actors, lan_unit, in_english):
    body = actors.session_client("owner").get(f"{list_url(actors)}{lan_unit.public_id}/").content.decode()
    section = body.split('data-testid="lan-connection"')[1].split("</section>")[0]
    assert '<dd class="col-sm-8 font-monospace text-break" data-testid="lan-host">10.0.0.20</dd>' in section
    assert 'data-testid="lan-port">4433<' in section and SERIAL in section
    assert "API token stored encrypted" in section and TOKEN not in body
    assert f'data-testid="lan-queue">tse.{lan_unit.public_id}<' in section
    assert f"celery -A portal worker -Q tse.{lan_unit.public_id} --concurrency 1" in section
    assert "ships no device driver for LAN TSEs" in section and "not publicly specified" in section
    assert 'data-testid="edit-lan-connection"' in section
    assert 'name="token"' in section and 'value="10.0.0.20"' in section


def test_software_tse_has_no_lan_section(actors, new_unit):
    body = actors.session_client("owner").get(f"{list_url(actors)}{new_unit.public_id}/").content.decode()
    assert 'data-testid="lan-connection"' not in body


def test_viewer_and_read_partner_see_the_section_without_the_form(actors, lan_unit, viewer_client):
    for client in (viewer_client, actors.session_client("partner")):
        body = client.get(f"{list_url(actors)}{lan_unit.public_id}/").content.decode()
        assert 'data-testid="lan-connection"' in body and 'data-testid="edit-lan-connection"' not in body
        assert TOKEN not in body


def test_create_lan_tse_access(actors, configure_partner, viewer_client):
    assert viewer_client.post(list_url(actors), lan_form_data()).status_code == 403
    assert actors.session_client("stranger").post(list_url(actors), lan_form_data()).status_code == 404
    assert not SigningUnit.unscoped.filter(backend=BackendType.LAN).exists()
    response = configure_partner.post(list_url(actors), lan_form_data())
    assert response.status_code == 302
    unit = SigningUnit.unscoped.get(backend=BackendType.LAN)
    assert unit.organization == actors.owner.organization


def test_read_only_partner_cannot_create(actors):
    assert actors.session_client("partner").post(list_url(actors), lan_form_data()).status_code == 403
    assert not SigningUnit.unscoped.exists()


@pytest.mark.parametrize("overrides, field, message", [
    ({"host": "https://tse.local"}, "host", "without a scheme"),
    ({"host": "tse.local:4433"}, "host", "port in its own field"),
    ({"tse_serial_number": "1234"}, "tse_serial_number", "exactly 64 hex digits"),
    ({"port": "70000"}, "port", "65535"),
    ({"max_clients": "1000"}, "max_clients", "999"),
    ({"token": ""}, "token", "required"),
])
def test_create_validation_errors_keep_the_token_secret(actors, in_english, overrides, field, message):
    response = actors.session_client("owner").post(list_url(actors), lan_form_data(**overrides))
    body = response.content.decode()
    assert response.status_code == 200
    form = body.split('data-testid="create-lan-tse"')[1].split("</form>")[0]
    assert message in form and f'id="id_lan_{field}"' in form
    assert TOKEN not in body
    assert not SigningUnit.unscoped.exists()


def test_create_with_a_taken_serial(actors, lan_unit, in_english):
    response = actors.session_client("owner").post(list_url(actors), lan_form_data(host="10.0.0.21"))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert SigningUnit.unscoped.filter(backend=BackendType.LAN).count() == 1


def test_fiskaly_create_needs_the_configuration(actors, settings, in_english):
    client = actors.session_client("owner")
    settings.FISKALY_API_KEY = ""
    response = client.post(list_url(actors), {"backend": "fiskaly", "description": "Cloud", "mode": "live"})
    assert response.status_code == 200 and "fiskaly is not configured" in response.content.decode()
    assert not SigningUnit.unscoped.exists()
    settings.FISKALY_API_KEY = "portal-fiskaly-key"
    response = client.post(list_url(actors), {"backend": "fiskaly", "description": "Cloud", "mode": "live"})
    assert response.status_code == 302
    unit = SigningUnit.unscoped.get(organization=actors.owner.organization)
    assert (unit.backend, unit.mode, unit.description) == (BackendType.FISKALY, "live", "Cloud")


def edit_url(actors, unit):
    return f"{list_url(actors)}{unit.public_id}/lan-connection/"


def edit_data(**overrides):
    return {"host": "192.168.1.50", "port": "8443", "token": "", "max_clients": "4", **overrides}


def test_owner_edits_the_connection_and_keeps_the_token(actors, lan_unit, in_english):
    client = actors.session_client("owner")
    response = client.post(edit_url(actors, lan_unit), edit_data())
    assert response.status_code == 302 and response["Location"] == f"{list_url(actors)}{lan_unit.public_id}/"
    connection = LanTseConnection.unscoped.get(signing_unit=lan_unit)
    assert (connection.host, connection.port, lan_token(connection)) == ("192.168.1.50", 8443, TOKEN)
    assert SigningUnit.unscoped.get(pk=lan_unit.pk).max_clients == 4
    assert client.post(edit_url(actors, lan_unit), edit_data(token="rotated-token")).status_code == 302
    assert lan_token(LanTseConnection.unscoped.get(signing_unit=lan_unit)) == "rotated-token"
    assert "rotated-token" not in client.get(response["Location"]).content.decode()


def test_edit_validation_error(actors, lan_unit, in_english):
    response = actors.session_client("owner").post(edit_url(actors, lan_unit),
                                                   edit_data(host="tse local", token="another-secret"))
    body = response.content.decode()
    assert response.status_code == 400 and "must not contain spaces" in body and "another-secret" not in body
    assert LanTseConnection.unscoped.get(signing_unit=lan_unit).host == "10.0.0.20"


def test_edit_access(actors, lan_unit, configure_partner, viewer_client):
    url = edit_url(actors, lan_unit)
    assert viewer_client.post(url, edit_data(host="viewer.local")).status_code == 403
    assert actors.session_client("stranger").post(url, edit_data(host="stranger.local")).status_code == 404
    assert LanTseConnection.unscoped.get(signing_unit=lan_unit).host == "10.0.0.20"
    assert configure_partner.post(url, edit_data(host="dealer.local")).status_code == 302
    assert LanTseConnection.unscoped.get(signing_unit=lan_unit).host == "dealer.local"
    assert actors.session_client("owner").get(url).status_code == 405


def test_edit_read_partner_is_refused(actors, lan_unit):
    assert actors.session_client("partner").post(edit_url(actors, lan_unit), edit_data()).status_code == 403


def test_edit_of_a_software_tse_or_a_foreign_unit_is_404(actors, new_unit, stranger_unit):
    client = actors.session_client("owner")
    assert client.post(edit_url(actors, new_unit), edit_data()).status_code == 404
    assert client.post(edit_url(actors, stranger_unit), edit_data()).status_code == 404


def test_signing_on_a_lan_unit_is_sent_to_its_queue(actors, lan_unit):
    SigningUnit.unscoped.filter(pk=lan_unit.pk).update(state="initialized")
    client_row = TseClient.unscoped.create(organization=actors.owner.organization, signing_unit=lan_unit,
                                           client_id="KASSE-01")
    url = f"/api/v1/tss/{lan_unit.public_id}/tx/{uuid.uuid4()}?tx_revision=1"
    with mock.patch("tse.tasks.sign_revision_task.apply_async") as apply_async:
        response = api_client(actors.owner.key).put(url, {"state": "ACTIVE", "client_id": str(client_row.public_id)},
                                                    content_type="application/json")
    assert response.status_code == 200, response.content
    assert apply_async.call_count == 1
    assert apply_async.call_args.kwargs["queue"] == f"tse.{lan_unit.public_id}"
    assert response.json()["signature"] is None
