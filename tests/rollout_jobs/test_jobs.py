"""Rollout jobs (service + eager tasks): apply, dry run, idempotent re-apply, newer version, partial failure."""

import pytest

from portal.tenancy import actor_for_user
from tenants.models import (
    AccessGrant,
    ConfigurationSource,
    ConfigurationVersion,
    DealerLink,
    Outlet,
    RolloutItemState,
    RolloutJobItem,
    RolloutJobState,
)
from tenants.services.configuration.document import snapshot
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout.jobs import run_chunk, run_job, start_job
from tests.configuration_fixtures import make_operators, template_document
from tests.rollout_jobs.conftest import make_template, targets_for

pytestmark = pytest.mark.django_db


def items(job) -> list[RolloutJobItem]:
    return list(RolloutJobItem.unscoped.filter(job=job).order_by("position"))


def outlet_tree(operator) -> dict:
    document = snapshot(operator)
    assert len(document["outlets"]) == 1, document
    return document["outlets"][0]


def test_applies_the_template_to_three_operators(run, template, operators, dealer):
    version = template.versions.get(number=1)
    job = run(version, targets_for(operators))
    assert job.state == RolloutJobState.COMPLETED
    assert (job.total, job.done, job.failed, job.progress) == (3, 3, 0, 100)
    assert job.started_at is not None and job.finished_at is not None
    for item, operator in zip(items(job), operators, strict=True):
        assert item.state == RolloutItemState.APPLIED, (item.error_code, item.error_message, item.errors)
        assert item.operator == operator
        assert item.plan and item.queries > 0 and item.finished_at is not None
        outlet = outlet_tree(operator)
        assert outlet["name"] == f"Filiale S{item.position}"
        unit = outlet["signing_units"][0]
        assert unit["reference"] == "tse-1" and unit["state"] == "initialized"
        assert [client["client_id"] for client in unit["clients"]] == [f"KS{item.position}-01", f"KS{item.position}-02"]
        assert all(client["cash_register"] is not None for client in unit["clients"])
        versions = list(ConfigurationVersion.unscoped.filter(organization=operator))
        assert len(versions) == 1
        assert versions[0].source == ConfigurationSource.ROLLOUT
        assert versions[0].acting_organization_id == dealer.pk
        assert versions[0].rollout_job_id == job.pk
        assert item.configuration_version_id == versions[0].pk


def test_an_operator_is_named_by_the_dealers_reference(run, template, operators):
    job = run(template.versions.get(), [{"operator": "OP-2", "variables": {"store": "REF2"}}])
    (item,) = items(job)
    assert item.state == RolloutItemState.APPLIED and item.operator == operators[1]
    assert outlet_tree(operators[1])["name"] == "Filiale REF2"


def test_the_dry_run_plans_what_the_run_then_does(run, template, operators):
    version = template.versions.get()
    dry = run(version, targets_for(operators), dry_run=True)
    assert dry.state == RolloutJobState.COMPLETED and dry.dry_run
    planned = items(dry)
    assert {item.state for item in planned} == {RolloutItemState.PLANNED}
    assert all(item.plan and item.configuration_version is None for item in planned)
    assert not Outlet.unscoped.filter(organization__in=operators).exists()
    assert not ConfigurationVersion.unscoped.filter(organization__in=operators).exists()

    real = run(version, targets_for(operators))
    applied = items(real)
    assert {item.state for item in applied} == {RolloutItemState.APPLIED}
    assert [item.plan for item in applied] == [item.plan for item in planned]


def test_re_applying_changes_nothing(run, template, operators):
    version = template.versions.get()
    run(version, targets_for(operators))
    versions = ConfigurationVersion.unscoped.filter(organization__in=operators).count()
    again = run(version, targets_for(operators))
    assert again.state == RolloutJobState.COMPLETED and (again.done, again.failed) == (3, 0)
    assert {(item.state, len(item.plan)) for item in items(again)} == {(RolloutItemState.UNCHANGED, 0)}
    assert all(item.configuration_version is None for item in items(again))
    assert ConfigurationVersion.unscoped.filter(organization__in=operators).count() == versions == 3


def test_a_newer_version_applies_only_the_difference(run, template, operators, add_template_version,
                                                     rollout_template_document):
    run(template.versions.get(), targets_for(operators))
    document = {**rollout_template_document, "variables": {
        **rollout_template_document["variables"], "registers": {"type": "integer", "default": 3}}}
    newer = run(add_template_version(template, document), targets_for(operators))
    for item, operator in zip(items(newer), operators, strict=True):
        assert item.state == RolloutItemState.APPLIED, (item.error_code, item.errors)
        assert sorted((step["action"], step["object"]) for step in item.plan) == [
            ("create", "cash_register"), ("register", "client")], item.plan
        clients = outlet_tree(operator)["signing_units"][0]["clients"]
        assert [client["client_id"] for client in clients][-1] == f"KS{item.position}-03"
        assert ConfigurationVersion.unscoped.filter(organization=operator).count() == 2
        assert item.configuration_version.number == 2


def test_failures_are_per_operator(run, template, dealer, actors, pos_catalogue):
    (applied,) = make_operators(1, dealer, rights=("configure",), prefix="OK")
    (read_only,) = make_operators(1, dealer, rights=("read",), prefix="RO")
    (missing,) = make_operators(1, dealer, rights=("configure",), prefix="MV")
    (no_grant,) = make_operators(1, dealer, rights=(), prefix="NG")
    stranger = actors.stranger.organization
    targets = [
        {"operator": str(applied.public_id), "variables": {"store": "A1"}},
        {"operator": "RO-1", "variables": {"store": "B1"}},
        {"operator": "MV-1", "variables": {}},
        {"operator": "NOPE-7", "variables": {"store": "C1"}},
        {"operator": str(stranger.public_id), "variables": {"store": "D1"}},
        {"operator": "NG-1", "variables": {"store": "E1"}},
    ]
    job = run(template.versions.get(), targets)
    assert job.state == RolloutJobState.COMPLETED
    assert (job.done, job.failed, job.progress) == (1, 5, 100)
    outcome = [(item.state, item.error_code) for item in items(job)]
    assert outcome == [
        (RolloutItemState.APPLIED, ""),
        (RolloutItemState.FAILED, "E_RIGHT_MISSING"),
        (RolloutItemState.FAILED, "E_VARIABLE_MISSING"),
        (RolloutItemState.FAILED, "E_OPERATOR_NOT_FOUND"),
        (RolloutItemState.FAILED, "E_OPERATOR_NOT_FOUND"),
        (RolloutItemState.FAILED, "E_OPERATOR_NOT_FOUND"),
    ]
    report = items(job)
    assert report[2].errors and report[2].errors[0]["path"] == "/variables/store"
    # operators the dealer may not see are not revealed
    assert report[4].operator is None and report[5].operator is None
    assert report[1].operator == read_only
    for untouched in (read_only, missing, stranger, no_grant):
        assert not Outlet.unscoped.filter(organization=untouched).exists()
        assert not ConfigurationVersion.unscoped.filter(organization=untouched).exists()
    assert Outlet.unscoped.filter(organization=applied).exists()


def test_an_entitlement_needs_the_entitlements_right(run, dealer, pos_catalogue, dealer_stock):
    dealer_stock(1)
    template = make_template(dealer, template_document(pos_catalogue["new"].public_id, entitlement=True),
                             name="Mit Lizenz")
    (configure_only,) = make_operators(1, dealer, rights=("configure",), prefix="C")
    (both,) = make_operators(1, dealer, rights=("configure", "entitlements"), prefix="E")
    job = run(template.versions.get(), [{"operator": "C-1", "variables": {"store": "X1"}},
                                        {"operator": "E-1", "variables": {"store": "X2"}}])
    first, second = items(job)
    assert (first.state, first.error_code) == (RolloutItemState.FAILED, "E_RIGHT_MISSING")
    assert not Outlet.unscoped.filter(organization=configure_only).exists()
    assert second.state == RolloutItemState.APPLIED, (second.error_code, second.errors)
    assert outlet_tree(both)["signing_units"][0]["entitlement"] == {"product": "TSE-SUB"}


def test_a_right_revoked_after_the_start_is_honoured(actors, template, operators, django_capture_on_commit_callbacks):
    actor = actor_for_user(actors.partner.user)
    with django_capture_on_commit_callbacks(execute=False):
        job = start_job(actor=actor, organization=actors.partner.organization,
                        template_version=template.versions.get(), targets=targets_for(operators))
    AccessGrant.unscoped.filter(organization=operators[0], right="configure").update(revoked_at="2026-01-01T00:00Z")
    AccessGrant.unscoped.create(organization=operators[0], dealer=actors.partner.organization, right="read")
    DealerLink.unscoped.filter(organization=operators[2]).update(status="ended")
    run_job(job.pk)
    outcome = [(item.state, item.error_code) for item in items(job)]
    assert outcome[0] == (RolloutItemState.FAILED, "E_RIGHT_MISSING")
    assert outcome[1] == (RolloutItemState.APPLIED, "")
    # named by id: still visible through its grant, the link's end does not matter
    assert outcome[2] == (RolloutItemState.APPLIED, "")


def test_running_again_applies_nothing_twice(actors, template, operators, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(actor=actor_for_user(actors.partner.user), organization=actors.partner.organization,
                        template_version=template.versions.get(), targets=targets_for(operators))
    assert len(callbacks) == 1  # the task, sent once the job committed
    # the worker stopped after the first item: the others are still pending
    run_chunk(job.pk, 1, 1)
    first = RolloutJobItem.unscoped.get(job=job, position=1)
    assert first.state == RolloutItemState.APPLIED
    assert RolloutJobItem.unscoped.filter(job=job, state=RolloutItemState.PENDING).count() == 2
    RolloutJobItem.unscoped.filter(pk=first.pk).update(queries=0)  # a marker: processed again would overwrite it
    resumed = run_job(job.pk)  # the redelivered task
    assert resumed.state == RolloutJobState.COMPLETED and (resumed.done, resumed.failed) == (3, 0)
    assert RolloutJobItem.unscoped.get(pk=first.pk).queries == 0
    again = run_job(job.pk)  # and once more
    assert (again.done, again.failed) == (3, 0)
    assert ConfigurationVersion.unscoped.filter(organization__in=operators).count() == 3


def test_a_member_without_configure_cannot_start(actors, template, operators):
    from tenants.models import Membership, MembershipRole

    Membership.unscoped.filter(user=actors.partner.member).update(role=MembershipRole.VIEWER)
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.partner.member), organization=actors.partner.organization,
                  template_version=template.versions.get(), targets=targets_for(operators))
    assert (caught.value.status, caught.value.code) == (403, "E_PERMISSION_DENIED")


def test_an_organization_the_template_is_not_shared_with_cannot_run_it(actors, template, operators):
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.stranger.user), organization=actors.stranger.organization,
                  template_version=template.versions.get(), targets=targets_for(operators))
    assert (caught.value.status, caught.value.code) == (404, "E_NOT_FOUND")


def test_duplicate_operators_are_refused_with_their_positions(actors, template, operators):
    targets = [{"operator": "OP-1"}, {"operator": "OP-2"}, {"operator": str(operators[0].public_id)},
               {"operator": "OP-2"}]
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.partner.user), organization=actors.partner.organization,
                  template_version=template.versions.get(), targets=targets)
    assert (caught.value.status, caught.value.code) == (400, "E_DUPLICATE_OPERATOR")
    assert [(error["path"], error["first_position"]) for error in caught.value.errors] == [
        ("/operators/2/operator", 0), ("/operators/3/operator", 1)]


@pytest.mark.parametrize(("targets", "path"), [
    ([], "/operators"),
    ([{"operator": ""}], "/operators/0/operator"),
    ([{"operator": "OP-1", "variables": []}], "/operators/0/variables"),
    (["OP-1"], "/operators/0"),
])
def test_invalid_targets_are_refused_with_paths(actors, template, targets, path):
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.partner.user), organization=actors.partner.organization,
                  template_version=template.versions.get(), targets=targets)
    assert caught.value.code == "E_VALIDATION"
    assert [error["path"] for error in caught.value.errors] == [path]


def test_at_most_5000_operators(actors, template):
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.partner.user), organization=actors.partner.organization,
                  template_version=template.versions.get(),
                  targets=[{"operator": f"OP-{i}"} for i in range(5001)])
    assert caught.value.errors[0]["code"] == "E_TOO_MANY"


@pytest.mark.parametrize(("url", "secret", "paths"), [
    ("ftp://example.com/hook", "0123456789abcdef", ["/webhook/url"]),
    ("https://example.com/hook", "too-short", ["/webhook/secret"]),
    ("", "0123456789abcdef", ["/webhook/url"]),
])
def test_the_webhook_is_checked(actors, template, operators, url, secret, paths):
    with pytest.raises(ConfigurationError) as caught:
        start_job(actor=actor_for_user(actors.partner.user), organization=actors.partner.organization,
                  template_version=template.versions.get(), targets=targets_for(operators),
                  webhook_url=url, webhook_secret=secret)
    assert [error["path"] for error in caught.value.errors] == paths


def test_large_jobs_are_split_into_chunks(run, template, dealer, monkeypatch):
    from tenants.services.rollout import jobs

    monkeypatch.setattr(jobs, "CHUNK_SIZE", 2)
    chosen = make_operators(5, dealer, rights=("configure",), prefix="CH")
    job = run(template.versions.get(), targets_for(chosen))
    assert job.state == RolloutJobState.COMPLETED and (job.done, job.failed) == (5, 0)
    assert {item.state for item in items(job)} == {RolloutItemState.APPLIED}


def test_an_unexpected_error_fails_only_that_operator(run, template, operators, monkeypatch):
    from tenants.services.configuration import apply

    original = apply.apply_configuration

    def failing(actor, organization, document, **options):
        if organization == operators[1]:
            raise RuntimeError("boom")
        return original(actor, organization, document, **options)

    monkeypatch.setattr(apply, "apply_configuration", failing)
    job = run(template.versions.get(), targets_for(operators))
    outcome = [(item.state, item.error_code, item.error_message) for item in items(job)]
    assert outcome == [(RolloutItemState.APPLIED, "", ""), (RolloutItemState.FAILED, "E_INTERNAL", "RuntimeError"),
                       (RolloutItemState.APPLIED, "", "")]
    assert (job.state, job.done, job.failed) == (RolloutJobState.COMPLETED, 2, 1)
    assert not Outlet.unscoped.filter(organization=operators[1]).exists()


def test_a_creator_who_left_the_dealer_applies_nothing(actors, template, operators,
                                                        django_capture_on_commit_callbacks):
    from tenants.models import Membership

    with django_capture_on_commit_callbacks(execute=False):
        job = start_job(actor=actor_for_user(actors.partner.member), organization=actors.partner.organization,
                        template_version=template.versions.get(), targets=targets_for(operators))
    Membership.unscoped.filter(user=actors.partner.member, organization=actors.partner.organization).delete()
    job = run_job(job.pk)
    assert {(item.state, item.error_code) for item in items(job)} == {
        (RolloutItemState.FAILED, "E_PERMISSION_DENIED")}
    assert not Outlet.unscoped.filter(organization__in=operators).exists()


def test_a_revoked_api_key_applies_nothing(actors, template, operators, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from portal.tenancy import actor_for_api_key
    from tenants.models import ApiKey

    with django_capture_on_commit_callbacks(execute=False):
        job = start_job(actor=actor_for_api_key(actors.partner.api_key), organization=actors.partner.organization,
                        template_version=template.versions.get(), targets=targets_for(operators[:1]))
    assert job.created_by_api_key == actors.partner.api_key and job.created_by is None
    ApiKey.unscoped.filter(pk=actors.partner.api_key.pk).update(revoked_at=timezone.now())
    (item,) = items(run_job(job.pk))
    assert (item.state, item.error_code) == (RolloutItemState.FAILED, "E_PERMISSION_DENIED")
