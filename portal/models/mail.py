from django.db import models

__all__ = ["OutgoingMail"]


class OutgoingMail(models.Model):
    """Outbox row for one e-mail. A Celery task sends it; duplicate deliveries are harmless."""

    class State(models.TextChoices):
        QUEUED = "queued"
        INFLIGHT = "inflight"
        SENT = "sent"
        AWAITING_RETRY = "awaiting_retry"
        FAILED = "failed"

    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.to}: {self.subject}"
