"""Login with password and TOTP, 2FA set-up, logout, password reset."""

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.forms import LoginForm, TwoFactorCodeForm
from portal.middleware import user_has_two_factor, user_requires_two_factor
from portal.services import two_factor
from portal.services.mail import queue_mail
from tenants.services.accounts import log_user_action

PENDING_USER_KEY = "pending_2fa_user"
PENDING_NEXT_KEY = "pending_2fa_next"
SETUP_DEVICE_KEY = "totp_setup_device"


def lockout_response(request, response, credentials):
    email = (credentials or {}).get("username", "")
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        log_user_action("tenants.user.locked_out", user, {"ip": request.META.get("REMOTE_ADDR")})
    return render(request, "portal/accounts/locked_out.html", status=429)


def _safe_next(request, candidate):
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return reverse("home")


def _finish_login(request, user, device=None):
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    log_user_action("tenants.user.login", user, {"two_factor": device is not None})


def login_view(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["username"].lower()
        user = authenticate(request, username=email, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            # AxesMiddleware replaces this response with ``lockout_response``.
            return render(request, "portal/accounts/login.html", {"form": form}, status=429)
        if user is None:
            known = get_user_model().objects.filter(email__iexact=email).first()
            if known is not None:
                log_user_action("tenants.user.login_failed", known, {"ip": request.META.get("REMOTE_ADDR")})
            form.add_error(None, _("E-mail address or password is wrong."))
        elif user.email_confirmed_at is None:
            form.add_error(None, _("Please confirm your e-mail address first. We have sent you a link."))
            request.session["unconfirmed_email"] = user.email
        else:
            next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
            if user_has_two_factor(user):
                request.session[PENDING_USER_KEY] = user.pk
                request.session[PENDING_NEXT_KEY] = next_url
                return redirect("accounts:login_verify")
            _finish_login(request, user)
            if user_requires_two_factor(user):
                return redirect("accounts:two_factor_setup")
            return redirect(next_url)
    return render(request, "portal/accounts/login.html", {
        "form": form, "next": request.GET.get("next", ""),
        "unconfirmed_email": request.session.get("unconfirmed_email"),
    })


def login_verify_view(request):
    user_id = request.session.get(PENDING_USER_KEY)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return redirect("accounts:login")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify_second_factor(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", _("This code is not valid. Check your device's clock or use a backup code."))
        else:
            next_url = request.session.pop(PENDING_NEXT_KEY, reverse("home"))
            request.session.pop(PENDING_USER_KEY, None)
            _finish_login(request, user, device)
            return redirect(next_url)
    return render(request, "portal/accounts/login_verify.html", {"form": form})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You have been logged out."))
    return redirect("accounts:login")


@login_required
def two_factor_setup_view(request):
    user = request.user
    device = None
    device_id = request.session.get(SETUP_DEVICE_KEY)
    if device_id:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    if device is None:
        device = two_factor.start_totp_setup(user)
        request.session[SETUP_DEVICE_KEY] = device.pk
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_totp_device(user, device.pk, form.cleaned_data["code"])
        if codes is None:
            form.add_error("code", _("This code is not valid. Check your device's clock and try again."))
        else:
            request.session.pop(SETUP_DEVICE_KEY, None)
            device.refresh_from_db()
            otp_login(request, device)
            return render(request, "portal/accounts/backup_codes.html", {"codes": codes, "first_setup": True})
    return render(request, "portal/accounts/two_factor_setup.html", {
        "form": form,
        "qr_svg": two_factor.provisioning_qr_svg(device),
        "secret": _base32_secret(device),
        "required": user_requires_two_factor(user),
    })


def _base32_secret(device) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


@login_required
def security_view(request):
    user = request.user
    return render(request, "portal/accounts/security.html", {
        "has_two_factor": user_has_two_factor(user),
        "required": user_requires_two_factor(user),
        "backup_codes_left": sum(d.token_set.count() for d in user.staticdevice_set.all()),
    })


@login_required
@require_POST
def backup_codes_view(request):
    if not user_has_two_factor(request.user):
        return redirect("accounts:two_factor_setup")
    codes = two_factor.regenerate_backup_codes(request.user)
    return render(request, "portal/accounts/backup_codes.html", {"codes": codes, "first_setup": False})


@login_required
@require_POST
def two_factor_disable_view(request):
    if user_requires_two_factor(request.user):
        messages.error(request, _("Owners and administrators must keep two-factor authentication."))
    else:
        two_factor.disable_two_factor(request.user)
        messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:security")


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset form, delivering through the portal's mail outbox (Celery)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        user = context["user"]
        context = {**context, "link": "{}://{}{}".format(
            context["protocol"], context["domain"],
            reverse("accounts:password_reset_confirm", args=[context["uid"], context["token"]]))}
        queue_mail(to_email, subject_template_name, email_template_name, context, language=user.language)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = OutboxPasswordResetForm
    template_name = "portal/accounts/password_reset.html"
    email_template_name = "portal/mail/password_reset.txt"
    subject_template_name = "portal/mail/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        log_user_action("tenants.user.password_reset", form.user)
        return response
