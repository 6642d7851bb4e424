"""Scale: one rollout job applies a template to 1,000 operators through a real Celery worker.

The template: one Betriebsstätte, outlet 1, one software TSE (initialized) with one POS client and its
cash register. A worker thread (``tests.workers.thread_worker("default")``) runs the job — 20 chunk
tasks of 50 operators — from the Redis broker against the (transactional) test database.

Asserted: all 1,000 items APPLIED, one configuration version each, and the SQL queries per operator
(counted by the job itself around each operator's transaction) bounded by ``MAX_QUERIES_PER_OPERATOR``
with a spread (max − min) of at most ``MAX_QUERY_SPREAD``: the cost of an operator does not depend on how
many operators the dealer has or how many were processed before it.

Measured on the 2-core development machine (2026-12-01, shared with other test runs): 89 queries for
every operator (spread 0); the job took 130–158 s (6.3–7.7 operators/s) in two runs, the whole test
2.3 min with ``--reuse-db`` (3.5 min with ``--create-db``, which migrates first).
"""

import time

import pytest
from django.conf import settings
from django.db import transaction

from portal.tenancy import actor_for_user
from tenants.models import ConfigurationVersion, RolloutItemState, RolloutJob, RolloutJobItem, RolloutJobState
from tenants.services.rollout.jobs import start_job
from tests.configuration_fixtures import make_operators, template_document
from tests.rollout_jobs.conftest import make_template
from tests.workers import thread_worker

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]

OPERATORS = 1000
MAX_QUERIES_PER_OPERATOR = 100  # measured: 89
MAX_QUERY_SPREAD = 3
TIMEOUT_SECONDS = 900


def test_a_rollout_to_1000_operators(actors, pos_catalogue):
    dealer = actors.partner.organization
    template = make_template(dealer, template_document(pos_catalogue["new"].public_id, registers=1))
    operators = make_operators(OPERATORS, dealer, rights=("configure",), prefix="SC")
    targets = [{"operator": f"SC-{i}", "variables": {"store": f"S{i}"}} for i in range(1, OPERATORS + 1)]
    started = time.monotonic()
    with thread_worker("default"):
        with transaction.atomic():
            job = start_job(actor=actor_for_user(actors.partner.user), organization=dealer,
                            template_version=template.versions.get(), targets=targets)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.state in (RolloutJobState.COMPLETED, RolloutJobState.ERROR):
                break
            time.sleep(0.5)
    elapsed = time.monotonic() - started
    job = RolloutJob.unscoped.get(pk=job.pk)
    assert job.state == RolloutJobState.COMPLETED, (job.state, job.done, job.failed, job.error)
    items = RolloutJobItem.unscoped.filter(job=job)
    failures = list(items.exclude(state=RolloutItemState.APPLIED).values_list("operator_ref", "error_code")[:5])
    assert not failures
    assert (job.done, job.failed) == (OPERATORS, 0)
    assert ConfigurationVersion.unscoped.filter(organization__in=operators, rollout_job=job).count() == OPERATORS
    queries = list(items.values_list("queries", flat=True))
    print(f"\n{OPERATORS} operators in {elapsed:.1f} s ({OPERATORS / elapsed:.1f}/s); "
          f"queries per operator {min(queries)}..{max(queries)}")
    assert max(queries) <= MAX_QUERIES_PER_OPERATOR
    assert max(queries) - min(queries) <= MAX_QUERY_SPREAD
