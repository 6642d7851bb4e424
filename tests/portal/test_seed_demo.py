"""The demo data go through the real onboarding services and can be seeded twice."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import LogEntry
from tenants.models import (
    AccessGrant,
    ContractSignature,
    DealerLink,
    LinkStatus,
    Organization,
    OrganizationRole,
    Outlet,
    PosSystemDealer,
    RoleStatus,
    User,
)

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_seeds_signed_roles_links_rights_pos_system_and_premises(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the export job runs once the seed commits
        output = _seed()
    assert Organization.unscoped.count() == 4
    assert set(OrganizationRole.unscoped.values_list("status", flat=True)) == {RoleStatus.ACTIVE}
    assert ContractSignature.unscoped.count() == 4
    dealer = Organization.unscoped.get(name="Demo Kassenhandel GmbH")
    assert DealerLink.unscoped.filter(dealer=dealer, status=LinkStatus.ACTIVE).count() == 2
    assert sorted(AccessGrant.unscoped.filter(dealer=dealer, revoked_at__isnull=True)
                  .values_list("right", flat=True)) == ["configure", "configure", "read", "read"]
    assert PosSystemDealer.unscoped.filter(dealer=dealer).count() == 1
    assert Outlet.unscoped.count() == 2
    # the café has a sandbox TSE with two POS, twelve signed receipts, an ended outage and an export
    from tse.models import LogMessage, Outage, SigningUnit, TarExport, TseTransaction

    [unit] = SigningUnit.unscoped.all()
    assert unit.organization.name == "Café Demo e.K." and unit.state == "initialized" and unit.outlet is not None
    # 12 receipts of the TSE demo + 5 per cash register signed through the signing API for the closings
    assert TseTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == 22
    assert LogMessage.unscoped.filter(signing_unit=unit, operation_type="FinishTransaction").count() == 22
    assert Outage.unscoped.filter(signing_unit=unit, ended_at__isnull=False).count() == 1
    assert TarExport.unscoped.filter(signing_unit=unit).count() == 1
    from exports.models import CashPointClosing, CashRegister, DsfinvkExport

    assert CashRegister.unscoped.filter(organization=unit.organization).count() == 2
    assert sorted(CashPointClosing.unscoped.values_list("state", "z_nr", "transaction_count")) == [
        ("COMPLETED", 1, 5), ("COMPLETED", 1, 5)]
    [export] = DsfinvkExport.unscoped.all()
    assert (export.state, export.validation_passed, export.closing_count) == ("COMPLETED", True, 2)
    # the dealer's rollout template plans a whole shop for the bakery (which has no outlet 2 yet)
    from portal.tenancy import actor_for_user
    from tenants.models import RolloutTemplate
    from tenants.services.configuration.plan import plan_configuration
    from tenants.services.rollout.variables import render_template, system_variables

    [template] = RolloutTemplate.unscoped.filter(organization=dealer)
    bakery = Organization.unscoped.get(name="Bäckerei Demo GmbH")
    document = render_template(template.versions.get().document, {"store": "NORD", "registers": "2"},
                               system_variables(bakery, dealer=dealer))
    dealer_owner = User.objects.get(email="inhaber@kassenhandel.example.com")
    plan = plan_configuration(actor_for_user(dealer_owner), bakery, document)
    assert [(step["action"], step["object"]) for step in plan] == [
        ("create", "outlet"), ("create", "signing_unit"), ("initialize", "signing_unit"), ("register", "client"),
        ("register", "client"), ("create", "cash_register"), ("create", "cash_register")]
    assert "demo-Passwort-2026" in output and "backup codes:" in output
    for user in User.objects.all():
        assert user.check_password("demo-Passwort-2026")
        assert user.email_confirmed_at is not None


def test_a_second_run_creates_nothing_new():
    _seed()
    from tenants.models import RolloutTemplateVersion
    from tse.models import LogMessage

    def counts():
        return (Organization.unscoped.count(), ContractSignature.unscoped.count(), AccessGrant.unscoped.count(),
                Outlet.unscoped.count(), DealerLink.unscoped.count(), LogEntry.unscoped.count(),
                LogMessage.unscoped.count(), RolloutTemplateVersion.unscoped.count())

    before = counts()
    _seed()
    assert counts() == before


def test_it_refuses_to_run_in_the_live_environment(settings):
    settings.PORTAL_ENVIRONMENT = "live"
    with pytest.raises(CommandError, match="live"):
        _seed()
    assert Organization.unscoped.count() == 0
