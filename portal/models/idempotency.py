from django.db import models

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(models.Model):
    """The first execution of an unsafe API call with an ``Idempotency-Key``, and its response."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    actor = models.CharField(max_length=80)  # "key:<pk>" or "user:<pk>"
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path, query and body
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor", "key"], name="portal_idempotencyrecord_unique_actor_key")
        ]

    def __str__(self):
        return f"{self.actor} {self.key}"
