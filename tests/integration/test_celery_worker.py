"""A real Celery worker (in a thread of the test process) consuming from the Redis broker."""

import time

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from portal.celery import TenantTask, app
from portal.models import OutgoingMail
from portal.services.mail import queue_mail
from tenants.models import Organization, User
from tenants.services.grants import grant_right
from tenants.services.organizations import create_organization
from tests.workers import thread_worker

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]


@app.task(base=TenantTask, name="tests.visible_organizations")
def visible_organizations(organization_id):
    """Which organizations does a task for ``organization_id`` see? (scoped query)"""
    return sorted(Organization.objects.values_list("pk", flat=True))


@pytest.fixture
def worker():
    with thread_worker("default") as running:
        yield running


def _wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _org(name, owner, roles):
    return create_organization(owner=owner, roles=roles, data={
        "name": name, "legal_form": "gmbh", "street": "Str. 1", "postal_code": "10115", "city": "Berlin"})


def test_the_worker_delivers_mail_sent_after_commit(worker):
    with transaction.atomic():
        outgoing = queue_mail("kunde@example.com", "tenants/mail/confirm_email_subject.txt",
                              "tenants/mail/confirm_email.txt",
                              {"user": {"full_name": "Kunde"}, "link": "https://x.invalid/c/1/", "days": 3})
    assert _wait_for(lambda: OutgoingMail.objects.get(pk=outgoing.pk).state == OutgoingMail.State.SENT)
    assert [m.to for m in mail.outbox] == [["kunde@example.com"]]
    assert OutgoingMail.objects.get(pk=outgoing.pk).attempts == 1


def test_a_rolled_back_transaction_sends_no_task(worker):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        queue_mail("nie@example.com", "tenants/mail/confirm_email_subject.txt", "tenants/mail/confirm_email.txt",
                   {"user": {"full_name": "Nie"}, "link": "https://x.invalid/", "days": 3})
        raise Abort
    # a sentinel sent afterwards proves the worker was running and processed the queue in order
    with transaction.atomic():
        sentinel = queue_mail("sentinel@example.com", "tenants/mail/confirm_email_subject.txt",
                              "tenants/mail/confirm_email.txt",
                              {"user": {"full_name": "S"}, "link": "https://x.invalid/", "days": 3})
    assert _wait_for(lambda: OutgoingMail.objects.get(pk=sentinel.pk).state == OutgoingMail.State.SENT)
    assert not OutgoingMail.objects.filter(to="nie@example.com").exists()
    assert [m.to for m in mail.outbox] == [["sentinel@example.com"]]


def test_a_tenant_task_runs_inside_its_organizations_scope(worker):
    owner = User.objects.create_user(email="o@example.com", password="x-Passwort-2026", full_name="O")
    operator = _org("Betreiber GmbH", owner, ["operator"])
    dealer = _org("Händler GmbH", owner, ["dealer"])
    stranger = _org("Fremd GmbH", owner, ["operator"])
    grant_right(actor=None, operator=operator, dealer=dealer, right="read")

    assert visible_organizations.delay(organization_id=stranger.pk).get(timeout=15) == [stranger.pk]
    assert visible_organizations.delay(organization_id=dealer.pk).get(timeout=15) == sorted([dealer.pk, operator.pk])


def test_a_tenant_task_without_organization_fails():
    with pytest.raises(TypeError, match="organization_id"):
        visible_organizations()
