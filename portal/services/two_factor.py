"""TOTP two-factor authentication with static backup codes (django-otp)."""

import segno
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

__all__ = [
    "BACKUP_CODE_COUNT",
    "confirm_totp_device",
    "disable_two_factor",
    "provisioning_qr_svg",
    "regenerate_backup_codes",
    "start_totp_setup",
    "verify_second_factor",
]

BACKUP_CODE_COUNT = 10


def start_totp_setup(user) -> TOTPDevice:
    """A fresh unconfirmed TOTP device (replacing any earlier unconfirmed one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


def provisioning_qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


@transaction.atomic
def confirm_totp_device(user, device_id: int, code: str) -> list[str] | None:
    """Confirm the device with a first code; returns the new backup codes, or None if the code is wrong."""
    from tenants.services.accounts import log_user_action

    device = TOTPDevice.objects.select_for_update().filter(user=user, pk=device_id, confirmed=False).first()
    if device is None or not device.verify_token(_clean(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = regenerate_backup_codes(user, audit=False)
    log_user_action("tenants.user.two_factor_enabled", user)
    return codes


def regenerate_backup_codes(user, *, audit: bool = True) -> list[str]:
    from tenants.services.accounts import log_user_action

    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup", defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    if audit:
        log_user_action("tenants.user.backup_codes_regenerated", user)
    return codes


def _clean(code: str) -> str:
    return "".join(str(code).split())


def verify_second_factor(user, code: str):
    """The device that accepts ``code`` (TOTP first, then a single-use backup code) or None."""
    from tenants.services.accounts import log_user_action

    code = _clean(code)
    if not code:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_is_allowed()[0] and device.verify_token(code):
            return device
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code.lower()):
            log_user_action("tenants.user.backup_code_used", user)
            return device
    return None


@transaction.atomic
def disable_two_factor(user) -> None:
    from tenants.services.accounts import log_user_action

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    log_user_action("tenants.user.two_factor_disabled", user)
