"""Signing-unit pages: overview columns, create a software TSE (refused in live), initialize, POS, disable."""

import pytest
from django.utils import timezone

from portal.models import LogEntry
from tse.models import ClientState, SigningUnit, SigningUnitState, TseClient

pytestmark = pytest.mark.django_db


def test_overview_shows_state_mode_serial_counters_and_clients(actors, signed, in_english):
    unit = SigningUnit.unscoped.get(pk=signed[1].signing_unit_id)
    body = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/tse/").content.decode()
    row = body.split(f'data-testid="tse-{unit.public_id}"')[1].split("</tr>")[0]
    assert "Kasse Mitte" in row and "initialized" in row and "test" in row
    assert 'data-testid="tse-not-certified"' in row and "not certified (software TSE)" in row
    assert f">{unit.serial_number[:16]}…<" in row  # short serial (the full one in the title)
    assert timezone.localtime(unit.certificate_expires_at).strftime("%d.%m.%Y") in row
    assert timezone.localtime(unit.last_time_sync_at).strftime("%d.%m.%Y %H:%M:%S") in row
    assert f"<td>{unit.signature_counter}</td>" in row and f"<td>{unit.transaction_counter}</td>" in row
    assert "2 / 199" in row
    assert 'data-testid="create-software-tse"' in body


def test_partner_sees_no_create_form(actors, signed):
    body = actors.session_client("partner").get(f"/o/{actors.owner.org_id}/tse/").content.decode()
    assert 'data-testid="tse-table"' in body and 'data-testid="create-software-tse"' not in body


def test_create_software_tse(actors, in_english):
    client = actors.session_client("owner")
    response = client.post(f"/o/{actors.owner.org_id}/tse/", {"description": "Theke", "curve": "P-384"})
    unit = SigningUnit.unscoped.get(organization=actors.owner.organization)
    assert response.status_code == 302 and response["Location"] == f"/o/{actors.owner.org_id}/tse/{unit.public_id}/"
    assert (unit.description, unit.curve, unit.state, unit.mode) == ("Theke", "P-384", "uninitialized", "test")
    assert LogEntry.unscoped.filter(action="tse.signing_unit.created", organization=actors.owner.organization).exists()
    body = client.get(response["Location"]).content.decode()
    assert 'data-testid="initialize-tse"' in body and 'data-testid="disable-tse"' not in body


def test_create_is_refused_in_live(actors, settings, in_english):
    settings.PORTAL_ENVIRONMENT = "live"
    response = actors.session_client("owner").post(f"/o/{actors.owner.org_id}/tse/",
                                                   {"description": "Theke", "curve": "P-256"})
    assert response.status_code == 200
    assert "cannot be used in the live environment" in response.content.decode()
    assert not SigningUnit.unscoped.filter(organization=actors.owner.organization).exists()


def test_initialize_register_and_disable(actors, new_unit, in_english):
    client = actors.session_client("owner")
    detail = f"/o/{actors.owner.org_id}/tse/{new_unit.public_id}/"
    assert client.post(f"{detail}initialize/").status_code == 302
    unit = SigningUnit.unscoped.get(pk=new_unit.pk)
    assert unit.state == SigningUnitState.INITIALIZED and unit.last_time_sync_at is not None
    # a second initialize is refused with the backend's message
    body = client.post(f"{detail}initialize/", follow=True).content.decode()
    assert "cannot be initialized again" in body

    assert client.post(f"{detail}clients/", {"client_id": "KASSE 7"}).status_code == 302
    assert TseClient.unscoped.get(signing_unit=unit).state == ClientState.REGISTERED
    assert LogEntry.unscoped.filter(action="tse.client.registered", organization=actors.owner.organization).exists()
    duplicate = client.post(f"{detail}clients/", {"client_id": "KASSE 7"})
    assert duplicate.status_code == 400 and "already registered" in duplicate.content.decode()
    invalid = client.post(f"{detail}clients/", {"client_id": "KASSE_7"})
    assert invalid.status_code == 400 and "The client id must be" in invalid.content.decode()
    body = client.get(detail).content.decode()
    assert "KASSE 7" in body.split('data-testid="tse-clients"')[1]

    unconfirmed = client.post(f"{detail}disable/", {})
    assert unconfirmed.status_code == 400
    assert SigningUnit.unscoped.get(pk=unit.pk).state == SigningUnitState.INITIALIZED
    assert client.post(f"{detail}disable/", {"confirm": "on"}).status_code == 302
    assert SigningUnit.unscoped.get(pk=unit.pk).state == SigningUnitState.DISABLED
    body = client.get(detail).content.decode()
    assert 'data-testid="disable-tse"' not in body and 'data-testid="register-client"' not in body
    assert 'data-testid="export-tse"' in body  # exports stay possible


def test_detail_shows_the_info(actors, ready_unit, in_english):
    body = actors.session_client("partner").get(
        f"/o/{actors.owner.org_id}/tse/{ready_unit.public_id}/").content.decode()
    info = body.split('data-testid="tse-info"')[1].split("</dl>")[0]
    assert ready_unit.serial_number in info and "ecdsa-plain-SHA256" in info and "P-256" in info
    assert "KASSE-01" in body and "KASSE-02" in body
    assert 'data-testid="register-client"' not in body and 'data-testid="export-tse"' in body
