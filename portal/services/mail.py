"""E-mail goes through an outbox row; a Celery task delivers it after the transaction commits."""

from django.template import Context
from django.template.loader import get_template
from django.utils import translation

from portal.celery import enqueue
from portal.models import OutgoingMail

__all__ = ["queue_mail"]


def _render_text(template_name: str, context: dict) -> str:
    """Plain-text mail: no HTML escaping ("Müller & Söhne" stays as it is)."""
    return get_template(template_name).template.render(Context(context, autoescape=False))


def queue_mail(to: str, subject_template: str, body_template: str, context: dict, language: str = "de"):
    with translation.override(language):
        subject = " ".join(_render_text(subject_template, context).split())
        body = _render_text(body_template, context)
    mail = OutgoingMail.objects.create(to=to, subject=subject, body_text=body)
    from portal.tasks import send_mail_task

    enqueue(send_mail_task, mail_id=mail.pk)
    return mail
