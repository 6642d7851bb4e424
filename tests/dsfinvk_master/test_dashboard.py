"""The DSFinV-K card of the dashboard: rejected closings, missing daily closings, master-data problems, exports."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from exports.models import DsfinvkExport, DsfinvkExportState
from exports.services.dashboard import dsfinvk_dashboard
from tenants.models import Organization
from tests.dsfinvk_master.conftest import completed_closing, sign

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _dashboard(actors, name="owner") -> str:
    response = actors.session_client(name).get(f"/o/{actors.owner.org_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_healthy_operator_sees_its_registers_and_the_latest_export(actors, register, in_english):
    Organization.unscoped.filter(pk=register.organization_id).update(tax_number="99015/12345")
    with time_machine.travel(NOW - dt.timedelta(hours=3), tick=False):
        sign(register, timezone.now())
        completed_closing(register, 1, timezone.now() + dt.timedelta(minutes=1))
        DsfinvkExport.unscoped.create(organization=register.organization, state=DsfinvkExportState.COMPLETED,
                                      validation_passed=True)
    with time_machine.travel(NOW, tick=False):
        card = dsfinvk_dashboard(register.organization)
        body = _dashboard(actors)
    assert card.registers == 1 and not card.needs_attention
    assert 'data-testid="dsfinvk-dashboard"' in body and "validation passed" in body
    for marker in ("dsfinvk-rejected", "dsfinvk-closing-overdue", "dsfinvk-master-problems"):
        assert marker not in body


def test_rejected_closings_missing_closings_problems_and_a_failed_validation_are_shown(actors, register, in_english):
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        sign(register, timezone.now())  # signed two days ago, never closed
    completed_closing(register, 1, NOW - dt.timedelta(hours=1),
                      errors=[{"path": "transactions", "code": "E_LINES_TOTAL", "message": "lines do not add up"}])
    DsfinvkExport.unscoped.create(organization=register.organization, state=DsfinvkExportState.COMPLETED,
                                  validation_passed=False)
    Organization.unscoped.filter(pk=register.organization_id).update(tax_number="", vat_id="")
    with time_machine.travel(NOW, tick=False):
        card = dsfinvk_dashboard(register.organization)
        body = _dashboard(actors)
        partner_body = _dashboard(actors, "partner")
    assert card.needs_attention and card.overdue == [register] and [c.z_nr for c in card.rejected] == [1]
    assert [problem["code"] for _register, problems in card.problems for problem in problems] == ["E_TAX_ID_MISSING"]
    for marker in ("dsfinvk-rejected", "dsfinvk-closing-overdue", "dsfinvk-master-problems"):
        assert f'data-testid="{marker}"' in body and f'data-testid="{marker}"' in partner_body
    assert "E_LINES_TOTAL" in body and "validation FAILED" in body


def test_an_operator_without_cash_registers_is_told_to_set_them_up(actors, in_english):
    body = _dashboard(actors)
    assert "No cash register has DSFinV-K master data yet" in body


def test_the_stranger_does_not_see_the_card(actors, register):
    assert actors.session_client("stranger").get(f"/o/{actors.owner.org_id}/").status_code == 404
