"""Daily reminders of § 146a (4) AO notification deadlines (beat)."""

from django_scopes import scopes_disabled

from compliance.services.deadlines import send_reminders
from portal.celery import app

__all__ = ["send_notification_reminders"]


@app.task(name="compliance.send_notification_reminders")
def send_notification_reminders() -> dict:
    """Every operator's due reminders in one run: it works across tenants, so it runs unscoped."""
    with scopes_disabled():
        return send_reminders()
