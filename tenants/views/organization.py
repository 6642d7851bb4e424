"""Pages for organizations: registration, company data, members and invitations, API keys."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    InviteColleagueForm,
    MemberRoleForm,
    OrganizationForm,
    RegistrationForm,
)
from tenants.models import ApiKey, ColleagueInvitation, Membership
from tenants.services.accounts import EmailConfirmationError, confirm_email, register_company, send_email_confirmation
from tenants.services.api_keys import create_api_key, revoke_api_key
from tenants.services.members import (
    MembershipError,
    accept_invitation,
    change_member_role,
    find_open_invitation,
    invite_colleague,
    remove_member,
    revoke_invitation,
)
from tenants.services.organizations import EDITABLE_FIELDS, update_organization

# --- registration and e-mail confirmation ---------------------------------------------------


def register_view(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        register_company(
            email=data["email"], password=data["password1"], full_name=data["full_name"],
            language=request.LANGUAGE_CODE if request.LANGUAGE_CODE in ("de", "en") else "de",
            organization={k: data[k] for k in EDITABLE_FIELDS}, roles=data["roles"],
        )
        request.session["unconfirmed_email"] = data["email"]
        return redirect("accounts:register_done")
    return render(request, "tenants/register.html", {"form": form})


def register_done_view(request):
    return render(request, "tenants/register_done.html", {"email": request.session.get("unconfirmed_email")})


def confirm_email_view(request, token):
    try:
        confirm_email(token)
    except EmailConfirmationError as exc:
        return render(request, "tenants/confirm_email_failed.html", {"reason": str(exc)}, status=400)
    request.session.pop("unconfirmed_email", None)
    messages.success(request, _("Your e-mail address is confirmed. Please log in."))
    return redirect("accounts:login")


@require_POST
def resend_confirmation_view(request):
    email = request.session.get("unconfirmed_email")
    user = get_user_model().objects.filter(email=email, email_confirmed_at__isnull=True).first() if email else None
    if user is not None:
        send_email_confirmation(user)
    messages.info(request, _("If the address is registered and unconfirmed, a new link is on its way."))
    return redirect("accounts:register_done")


# --- invitations (public side) ---------------------------------------------------------------


def invitation_view(request, token):
    invitation = find_open_invitation(token)
    if invitation is None:
        return render(request, "tenants/invitation_invalid.html", status=404)
    User = get_user_model()
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = accept_invitation(token=token, user=request.user)
            except MembershipError as exc:
                messages.error(request, exc.message)
                return redirect("home")
            messages.success(request, _("You are now a member of {name}.").format(name=membership.organization.name))
            return redirect("dashboard", org_id=membership.organization.public_id)
        return render(request, "tenants/invitation_accept.html", {"invitation": invitation})
    if existing is not None:
        return render(request, "tenants/invitation_login.html", {"invitation": invitation})
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = User.objects.create_user(
                email=invitation.email, password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"], language=request.LANGUAGE_CODE or "de",
            )
            accept_invitation(token=token, user=user)
        messages.success(request, _("Your account is ready. Please log in."))
        return redirect("accounts:login")
    return render(request, "tenants/invitation_register.html", {"invitation": invitation, "form": form})


# --- organization settings -------------------------------------------------------------------


@organization_page("view")
def organization_settings_view(request, organization):
    can_change = request.actor.can(organization.pk, "change_organization")
    form = OrganizationForm(request.POST or None, instance=organization) if can_change else None
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied  # visible, but the role or the granted rights do not allow changes
        if form.is_valid():
            changes = {k: form.cleaned_data[k] for k in OrganizationForm.Meta.fields}
            organization.refresh_from_db()
            update_organization(actor=request.actor, organization=organization, changes=changes)
            messages.success(request, _("The company data are saved."))
            return redirect("organization_settings", org_id=organization.public_id)
    return render(request, "tenants/organization_settings.html", {"organization": organization, "form": form})


@organization_page("view_members")
def members_view(request, organization):
    can_manage = request.actor.can(organization.pk, "manage_members")
    form = InviteColleagueForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                invite_colleague(actor=request.actor, organization=organization, **form.cleaned_data)
            except MembershipError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Invitation sent to {email}.").format(email=form.cleaned_data["email"]))
                return redirect("members", org_id=organization.public_id)
    context = {
        "organization": organization,
        "memberships": Membership.objects.filter(organization=organization).select_related("user"),
        "invitations": ColleagueInvitation.objects.filter(organization=organization, accepted_at__isnull=True,
                                                          revoked_at__isnull=True),
        "form": form,
        "can_manage": can_manage,
        "role_form": MemberRoleForm(),
    }
    return render(request, "tenants/members.html", context)


@require_POST
@organization_page("manage_members")
def member_change_view(request, organization, membership_id):
    membership = get_object_or_404(Membership.objects.filter(organization=organization), public_id=membership_id)
    try:
        if request.POST.get("action") == "remove":
            remove_member(actor=request.actor, membership=membership)
            messages.success(request, _("{user} was removed.").format(user=membership.user))
        else:
            form = MemberRoleForm(request.POST)
            if form.is_valid():
                change_member_role(actor=request.actor, membership=membership, role=form.cleaned_data["role"])
                messages.success(request, _("The role of {user} was changed.").format(user=membership.user))
    except MembershipError as exc:
        messages.error(request, exc.message)
    return redirect("members", org_id=organization.public_id)


@require_POST
@organization_page("manage_members")
def invitation_revoke_view(request, organization, invitation_id):
    invitation = get_object_or_404(ColleagueInvitation.objects.filter(organization=organization),
                                   public_id=invitation_id)
    revoke_invitation(actor=request.actor, invitation=invitation)
    messages.success(request, _("The invitation was revoked."))
    return redirect("members", org_id=organization.public_id)


# --- API keys --------------------------------------------------------------------------------


@organization_page("view_api_keys")
def api_keys_view(request, organization):
    can_manage = request.actor.can(organization.pk, "manage_api_keys")
    form = ApiKeyForm(request.POST or None) if can_manage else None
    new_key = None
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                _api_key, new_key = create_api_key(actor=request.actor, organization=organization,
                                                   **form.cleaned_data)
            except ValueError as exc:
                form.add_error("expires_at", str(exc))
            else:
                form = ApiKeyForm()
    keys = ApiKey.objects.filter(organization=organization)
    response = render(request, "tenants/api_keys.html", {
        "organization": organization, "keys": keys, "form": form, "new_key": new_key, "can_manage": can_manage,
    })
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@organization_page("manage_api_keys")
def api_key_revoke_view(request, organization, api_key_id):
    api_key = get_object_or_404(ApiKey.objects.filter(organization=organization), public_id=api_key_id)
    revoke_api_key(actor=request.actor, api_key=api_key)
    messages.success(request, _("The API key {name} was revoked.").format(name=api_key.name))
    if request.htmx:
        return render(request, "tenants/partials/api_key_row.html", {"key": api_key, "organization": organization,
                                                                     "can_manage": True})
    return redirect("api_keys", org_id=organization.public_id)
