from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from compliance.services.dashboard import compliance_dashboard
from exports.services.dashboard import dsfinvk_dashboard
from portal.filtersets import LogEntryFilterSet
from portal.models import LogEntry
from portal.services.audit import ACTION_LABELS
from portal.views.base import ACTIVE_ORGANIZATION_SESSION_KEY, organization_page
from tenants.models import ApiKey, Membership, Organization, RoleKind
from tse.services.monitoring import tse_dashboard


@login_required
def home_view(request):
    """Send the user to the organization used last, or the first one."""
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    active = request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    target = next((m for m in memberships if str(m.organization.public_id) == active), None) or memberships.first()
    if target is None:
        return render(request, "portal/no_organization.html")
    return redirect("dashboard", org_id=target.organization.public_id)


@login_required
@require_POST
def switch_organization_view(request):
    org_id = request.POST.get("organization", "")
    if org_id and Organization.objects.filter(public_id=org_id, pk__in=request.actor.member_organization_ids):
        return redirect("dashboard", org_id=org_id)
    return redirect("home")


@organization_page("view")
def dashboard_view(request, organization):
    roles = {role.kind: role for role in organization.roles.all()}
    is_member = organization.pk in request.actor.member_roles
    context = {
        "organization": organization,
        "is_member": is_member,
        "roles": roles,
        "role_kinds": RoleKind,
        "member_count": Membership.objects.filter(organization=organization).count() if is_member else None,
        "active_key_count": sum(1 for k in ApiKey.objects.filter(organization=organization) if k.is_active)
        if request.actor.can(organization.pk, "view_api_keys") else None,
        # the tax office notification needs the Steuernummer; a VAT id cannot replace it
        "needs_tax_data": not organization.tax_number,
        # operators (and partners acting for them) see the health of the TSEs first
        "tse": tse_dashboard(organization) if RoleKind.OPERATOR in roles else None,
        "dsfinvk": dsfinvk_dashboard(organization) if RoleKind.OPERATOR in roles else None,
        # TSE expiries and notification deadlines (operator); TSEs of its operators to replace (dealer)
        "compliance": compliance_dashboard(organization, request.actor),
    }
    return render(request, "portal/dashboard.html", context)


@organization_page("view_audit")
def audit_log_view(request, organization):
    entries = LogEntry.objects.filter(organization=organization).select_related(
        "actor_user", "actor_api_key", "acting_organization")
    filterset = LogEntryFilterSet(request.GET or None, queryset=entries)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else entries
    page = Paginator(queryset.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    for entry in page:
        entry.label = ACTION_LABELS.get(entry.action, entry.action)
    template = "portal/partials/audit_rows.html" if request.htmx else "portal/audit_log.html"
    return render(request, template, {
        "organization": organization, "filterset": filterset, "page": page,
        "title": _("Audit log"),
    })
