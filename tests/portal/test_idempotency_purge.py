from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import IdempotencyRecord
from portal.tasks import purge_idempotency_records_task

pytestmark = pytest.mark.django_db


def test_it_forgets_only_expired_idempotency_keys(settings):
    old = IdempotencyRecord.objects.create(actor="key:1", key="old", method="POST", path="/api/v1/x", fingerprint="a")
    fresh = IdempotencyRecord.objects.create(actor="key:1", key="new", method="POST", path="/api/v1/x",
                                             fingerprint="b")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1))
    assert purge_idempotency_records_task.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_the_purge_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-idempotency-records"]
    assert entry["task"] == purge_idempotency_records_task.name
