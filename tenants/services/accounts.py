"""Company registration, e-mail confirmation and per-user audit entries."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.services.audit import log_action
from portal.services.mail import queue_mail
from tenants.models import Membership
from tenants.services.organizations import create_organization

__all__ = [
    "EmailConfirmationError",
    "confirm_email",
    "email_confirmation_token",
    "log_user_action",
    "register_company",
    "send_email_confirmation",
]

CONFIRM_SALT = "tenants.email-confirmation"


class EmailConfirmationError(Exception):
    pass


def log_user_action(code: str, user, data: dict | None = None) -> None:
    """Audit an action of a person (2FA changes, logins) in every organization the person belongs to."""
    for membership in Membership.unscoped.filter(user=user).select_related("organization"):
        log_action(code, user, membership.organization, user, data)


def email_confirmation_token(user) -> str:
    return signing.dumps({"u": str(user.public_id), "e": user.email}, salt=CONFIRM_SALT)


def send_email_confirmation(user) -> None:
    link = settings.SITE_URL + reverse("accounts:confirm_email", args=[email_confirmation_token(user)])
    queue_mail(
        user.email,
        "tenants/mail/confirm_email_subject.txt",
        "tenants/mail/confirm_email.txt",
        {"user": user, "link": link, "days": settings.EMAIL_CONFIRMATION_MAX_AGE // 86400},
        language=user.language,
    )


@transaction.atomic
def register_company(*, email: str, password: str, full_name: str, language: str, organization: dict, roles):
    """Create the user and its company; the user becomes the owner and must confirm the e-mail."""
    User = get_user_model()
    user = User.objects.create_user(email=email, password=password, full_name=full_name, language=language)
    org = create_organization(owner=user, data=organization, roles=list(roles))
    send_email_confirmation(user)
    return user, org


def confirm_email(token: str):
    User = get_user_model()
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=settings.EMAIL_CONFIRMATION_MAX_AGE)
    except signing.SignatureExpired:
        raise EmailConfirmationError("expired") from None
    except signing.BadSignature:
        raise EmailConfirmationError("invalid") from None
    user = User.objects.filter(public_id=payload.get("u"), email=payload.get("e")).first()
    if user is None:
        raise EmailConfirmationError("invalid")
    if user.email_confirmed_at is None:
        User.objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(email_confirmed_at=timezone.now())
        user.refresh_from_db()
        log_user_action("tenants.user.email_confirmed", user, {"email": user.email})
    return user
