"""Pages of the POS systems feature: the creator's systems and the systems shared with a dealer.

POS systems are members-only: a dealer acting in an operator's account (access grant) gets 404 here.
``/o/<org>/pos-systems/<id>/`` shows a system as seen from ``org``: full for its creator, read-only
for a dealer it is shared with (changes: 403), 404 for everyone else.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.pos_systems import PosSystemCreateForm, PosSystemForm, PosSystemVersionForm, ShareForm
from tenants.models import PosSystem, RoleKind
from tenants.services.pos_systems import (
    EDITABLE_FIELDS,
    PosSystemError,
    add_version,
    create_pos_system,
    creator_role_is_active,
    dealer_shares,
    get_pos_system_for,
    pos_systems_of,
    retire_pos_system,
    share_pos_system,
    shared_pos_systems_of,
    unshare_pos_system,
    update_pos_system,
)

RETIRED_FILTERS = {"true": True, "false": False}


def pos_systems_page(view):
    """``organization_page("view")`` for members only: partners acting for an operator get 404."""

    @organization_page("view")
    @wraps(view)
    def wrapper(request, organization, *args, **kwargs):
        if request.actor.is_partner_of(organization.pk):
            raise Http404
        return view(request, organization, *args, **kwargs)

    return wrapper


def _can_configure(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


def _system(organization, pos_system_id) -> tuple[PosSystem, str]:
    try:
        return get_pos_system_for(organization, pos_system_id)
    except PosSystem.DoesNotExist:
        raise Http404 from None


def _creator_system(request, organization, pos_system_id) -> PosSystem:
    """The system for a change: 404 if not visible, 403 for a dealer or a member without ``configure``."""
    system, relation = _system(organization, pos_system_id)
    if relation != "creator" or not _can_configure(request, organization):
        raise PermissionDenied
    return system


def _retired_filter(request) -> tuple[bool | None, str]:
    value = request.GET.get("retired", "")
    return RETIRED_FILTERS.get(value), value if value in RETIRED_FILTERS else ""


def _detail(request, organization, system, relation, *, version_form=None, share_form=None, status=200):
    is_creator = relation == "creator"
    role_active = creator_role_is_active(organization) if is_creator else False
    may_change = is_creator and _can_configure(request, organization)
    may_extend = may_change and role_active and system.retired_at is None
    context = {
        "organization": organization,
        "pos_system": system,
        "versions": system.versions.all(),
        "is_creator": is_creator,
        "role_active": role_active,
        "may_change": may_change,
        "may_extend": may_extend,
        "shares": dealer_shares(system) if is_creator else None,
        "version_form": (version_form or PosSystemVersionForm()) if may_extend else None,
        "share_form": (share_form or ShareForm()) if may_extend else None,
    }
    return render(request, "tenants/pos_systems/detail.html", context, status=status)


def _apply_error(form, exc: PosSystemError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- the creator's systems -------------------------------------------------------------------


@pos_systems_page
def pos_system_list_view(request, organization):
    retired, retired_value = _retired_filter(request)
    context = {
        "organization": organization,
        "pos_systems": pos_systems_of(organization, retired=retired),
        "retired": retired_value,
        "is_creator": organization.has_role(RoleKind.CREATOR),
        "role_active": creator_role_is_active(organization),
        "can_configure": _can_configure(request, organization),
    }
    return render(request, "tenants/pos_systems/list.html", context)


@pos_systems_page
def pos_system_create_view(request, organization):
    if not _can_configure(request, organization):
        raise PermissionDenied
    if not creator_role_is_active(organization):
        return render(request, "tenants/pos_systems/form.html",
                      {"organization": organization, "form": None, "role_inactive": True, "creating": True},
                      status=403)
    form = PosSystemCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            system = create_pos_system(actor=request.actor, organization=organization, data=form.cleaned_data)
        except PosSystemError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("The POS system {name} is registered.").format(name=system.name))
            return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
    return render(request, "tenants/pos_systems/form.html",
                  {"organization": organization, "form": form, "creating": True})


@pos_systems_page
def pos_system_detail_view(request, organization, pos_system_id):
    system, relation = _system(organization, pos_system_id)
    return _detail(request, organization, system, relation)


@pos_systems_page
def pos_system_edit_view(request, organization, pos_system_id):
    system = _creator_system(request, organization, pos_system_id)
    detail = redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
    if system.retired_at is not None:
        messages.error(request, _("This POS system is retired and can no longer be changed."))
        return detail
    context = {"organization": organization, "pos_system": system, "creating": False}
    if not creator_role_is_active(organization):
        return render(request, "tenants/pos_systems/form.html", {**context, "form": None, "role_inactive": True},
                      status=403)
    form = PosSystemForm(request.POST or None, instance=system)
    if request.method == "POST" and form.is_valid():
        try:
            # The form worked on the fetched instance; the service compares against the locked row.
            update_pos_system(actor=request.actor, pos_system=system,
                              changes={name: form.cleaned_data[name] for name in EDITABLE_FIELDS})
        except PosSystemError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("The POS system is saved."))
            return detail
    return render(request, "tenants/pos_systems/form.html", {**context, "form": form})


@pos_systems_page
def pos_system_retire_view(request, organization, pos_system_id):
    system = _creator_system(request, organization, pos_system_id)
    detail = redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
    if system.retired_at is not None:
        messages.info(request, _("This POS system is already retired."))
        return detail
    if request.method == "POST":
        try:
            retire_pos_system(actor=request.actor, pos_system=system)
        except PosSystemError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The POS system {name} is retired.").format(name=system.name))
        return detail
    return render(request, "tenants/pos_systems/retire.html", {"organization": organization, "pos_system": system})


@require_POST
@pos_systems_page
def pos_system_version_add_view(request, organization, pos_system_id):
    system = _creator_system(request, organization, pos_system_id)
    form = PosSystemVersionForm(request.POST)
    if form.is_valid():
        try:
            version = add_version(actor=request.actor, pos_system=system, **form.cleaned_data)
        except PosSystemError as exc:
            if exc.code in ("E_ROLE_INACTIVE", "E_POS_SYSTEM_RETIRED"):
                messages.error(request, exc.message)
                return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
            _apply_error(form, exc)
        else:
            messages.success(request, _("Version {version} is added.").format(version=version.software_version))
            return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
    return _detail(request, organization, system, "creator", version_form=form)


@require_POST
@pos_systems_page
def pos_system_share_view(request, organization, pos_system_id):
    system = _creator_system(request, organization, pos_system_id)
    form = ShareForm(request.POST)
    if form.is_valid():
        target = form.cleaned_data["dealer"]
        try:
            result = share_pos_system(actor=request.actor, pos_system=system, **target)
        except PosSystemError as exc:
            if exc.code in ("E_ROLE_INACTIVE", "E_POS_SYSTEM_RETIRED"):
                messages.error(request, exc.message)
                return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
            form.add_error("dealer", exc.message)
        else:
            if result.invited_email:
                messages.info(request, _(
                    "No dealer organization on Kassenportal has a member with the address {email}. We sent an "
                    "invitation to register as a dealer; share the POS system again once the dealer is registered."
                ).format(email=result.invited_email))
            elif result.created:
                messages.success(request, _("The POS system is shared with {dealer}.").format(
                    dealer=result.share.dealer.name))
            else:
                messages.info(request, _("The POS system was already shared with {dealer}.").format(
                    dealer=result.share.dealer.name))
            return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)
    return _detail(request, organization, system, "creator", share_form=form)


@require_POST
@pos_systems_page
def pos_system_unshare_view(request, organization, pos_system_id, dealer_id):
    system = _creator_system(request, organization, pos_system_id)
    share = get_object_or_404(dealer_shares(system), dealer__public_id=dealer_id)
    unshare_pos_system(actor=request.actor, share=share)
    messages.success(request, _("{dealer} no longer has access to this POS system.").format(dealer=share.dealer.name))
    return redirect("pos_system_detail", org_id=organization.public_id, pos_system_id=system.public_id)


# --- a dealer's view -------------------------------------------------------------------------


@pos_systems_page
def shared_pos_systems_view(request, organization):
    retired, retired_value = _retired_filter(request)
    context = {
        "organization": organization,
        "pos_systems": shared_pos_systems_of(organization, retired=retired),
        "retired": retired_value,
        "is_dealer": organization.has_role(RoleKind.DEALER),
    }
    return render(request, "tenants/pos_systems/shared_list.html", context)


@pos_systems_page
def shared_pos_system_detail_view(request, organization, pos_system_id):
    system, relation = _system(organization, pos_system_id)
    if relation != "dealer":
        raise Http404  # not shared with this organization (its own systems live under pos-systems/)
    return _detail(request, organization, system, relation)
