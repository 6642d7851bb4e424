from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from portal.models import OutgoingMail

RETRY_COUNTDOWNS = (30, 120, 600, 1800)


@shared_task(bind=True, acks_late=True, name="portal.send_mail", max_retries=len(RETRY_COUNTDOWNS))
def send_mail_task(self, mail_id: int):
    """Deliver one outbox row. Rows already in flight or final are left alone."""
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.state not in (OutgoingMail.State.QUEUED, OutgoingMail.State.AWAITING_RETRY):
            return
        mail.state = OutgoingMail.State.INFLIGHT
        mail.attempts += 1
        mail.save(update_fields=["state", "attempts"])
    try:
        EmailMessage(mail.subject, mail.body_text, settings.DEFAULT_FROM_EMAIL, [mail.to]).send()
    except Exception as exc:
        final = self.request.retries >= len(RETRY_COUNTDOWNS)
        mail.state = OutgoingMail.State.FAILED if final else OutgoingMail.State.AWAITING_RETRY
        mail.error = str(exc)[:2000]
        mail.save(update_fields=["state", "error"])
        if final:
            return
        raise self.retry(countdown=RETRY_COUNTDOWNS[self.request.retries], exc=exc) from exc
    mail.state = OutgoingMail.State.SENT
    mail.sent_at = timezone.now()
    mail.save(update_fields=["state", "sent_at"])


@shared_task(name="portal.purge_idempotency_records")
def purge_idempotency_records_task():
    """Forget Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS (beat, daily)."""
    from portal.idempotency import purge_expired_records

    return purge_expired_records()
