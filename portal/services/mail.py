"""E-mail goes through an outbox row; a Celery task delivers it after the transaction commits."""

from django.template.loader import render_to_string
from django.utils import translation

from portal.celery import enqueue
from portal.models import OutgoingMail

__all__ = ["queue_mail"]


def queue_mail(to: str, subject_template: str, body_template: str, context: dict, language: str = "de"):
    with translation.override(language):
        subject = " ".join(render_to_string(subject_template, context).split())
        body = render_to_string(body_template, context)
    mail = OutgoingMail.objects.create(to=to, subject=subject, body_text=body)
    from portal.tasks import send_mail_task

    enqueue(send_mail_task, mail_id=mail.pk)
    return mail
