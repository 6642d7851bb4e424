"""Pages of the partners feature.

Dealer side (``/o/<dealer>/operators/…``): the operator overview with onboarding progress, the
invitation history with resend/revoke, single invitations, the CSV import and received link
requests. Operator side (``/o/<operator>/partners/…``): dealers and their rights (one click per
right, htmx with a plain POST fallback), link requests, ending a link, and accepting a claimed
invitation. Public: ``/invite/operator/<token>/``.

Capabilities: reading needs ``view_members`` (members only — partners acting for the
organization get 404), changing needs ``manage_partners`` (owner/admin, else 403).
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.partners import (
    NEW_COMPANY,
    AcceptRightsForm,
    ChooseOperatorForm,
    InvitationFilterForm,
    InvitationImportForm,
    LinkRequestForm,
    NewCompanyForm,
    OperatorInvitationForm,
    OperatorRegistrationForm,
    OverviewFilterForm,
    apply_service_errors,
)
from tenants.models import AccessRight, DealerLink, InvitationImport, OperatorInvitation
from tenants.services import partners as svc
from tenants.services.organizations import EDITABLE_FIELDS

PAGE_SIZE = 50
RIGHT_LABELS = dict(AccessRight.choices)


def _role_inactive(request, organization, error):
    return render(request, "tenants/partners/role_inactive.html",
                  {"organization": organization, "message": error.message}, status=403)


def dealer_page(capability: str, *, active: bool = False):
    """``organization_page`` plus the dealer role (any status for reading, active for changes)."""

    def decorator(view):
        @organization_page(capability)
        @wraps(view)
        def wrapper(request, organization, *args, **kwargs):
            try:
                svc.require_dealer(organization, active=active)
            except svc.PartnerError as exc:
                return _role_inactive(request, organization, exc)
            return view(request, organization, *args, **kwargs)

        return wrapper

    return decorator


def _page(request, object_list):
    return Paginator(object_list, PAGE_SIZE).get_page(request.GET.get("page"))


# --- dealer side -----------------------------------------------------------------------------


@dealer_page("view_members")
def operators_view(request, organization):
    filters = OverviewFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    overview = svc.operator_overview(organization, search=data.get("q", ""), status=data.get("status", ""))
    context = {
        "organization": organization,
        "page": _page(request, overview),
        "filters": filters,
        "statuses": svc.OVERVIEW_STATUSES,
        "query": data.get("q", ""),
        "status": data.get("status", ""),
        "can_manage": request.actor.can(organization.pk, "manage_partners"),
        "open_requests": svc.link_requests(organization).count(),
    }
    template = "tenants/partners/partials/operator_rows.html" if request.htmx else "tenants/partners/operators.html"
    return render(request, template, context)


@dealer_page("view_members")
def invitations_view(request, organization):
    filters = InvitationFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    invitations = svc.invitation_history(organization, status=data.get("status", ""), search=data.get("q", ""))
    page = _page(request, invitations)
    for invitation in page.object_list:
        invitation.right_labels = [RIGHT_LABELS.get(r, r) for r in invitation.requested_rights]
    return render(request, "tenants/partners/invitations.html", {
        "organization": organization,
        "page": page,
        "status": data.get("status", ""),
        "query": data.get("q", ""),
        "statuses": svc.INVITATION_STATUSES,
        "can_manage": request.actor.can(organization.pk, "manage_partners"),
    })


@dealer_page("manage_partners", active=True)
def invite_view(request, organization):
    form = OperatorInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _token = svc.invite_operator(actor=request.actor, dealer=organization,
                                                     data=form.cleaned_data, default_rights=())
        except svc.PartnerError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to {email}.").format(email=invitation.contact_email))
            return redirect("partners_invitations", org_id=organization.public_id)
    return render(request, "tenants/partners/invite.html", {"organization": organization, "form": form})


def _dealer_invitation(organization, invitation_id):
    return get_object_or_404(OperatorInvitation.objects.filter(organization=organization), public_id=invitation_id)


@require_POST
@dealer_page("manage_partners", active=True)
def invitation_resend_view(request, organization, invitation_id):
    invitation = _dealer_invitation(organization, invitation_id)
    try:
        svc.resend_invitation(actor=request.actor, invitation=invitation)
    except svc.PartnerError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The invitation was sent again to {email}; the previous link no longer works.")
                         .format(email=invitation.contact_email))
    return redirect("partners_invitations", org_id=organization.public_id)


@require_POST
@dealer_page("manage_partners")
def invitation_revoke_view(request, organization, invitation_id):
    invitation = _dealer_invitation(organization, invitation_id)
    try:
        svc.revoke_operator_invitation(actor=request.actor, invitation=invitation)
    except svc.PartnerError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The invitation to {email} was revoked.").format(email=invitation.contact_email))
    return redirect("partners_invitations", org_id=organization.public_id)


@dealer_page("manage_partners", active=True)
def import_view(request, organization):
    form = InvitationImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = svc.import_invitations_csv(
                actor=request.actor, dealer=organization, content=upload.read(), filename=upload.name,
                default_rights=form.cleaned_data["rights"] or svc.DEFAULT_RIGHTS,
            )
        except svc.PartnerError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("partners_import_detail", org_id=organization.public_id, import_id=batch.public_id)
    imports = InvitationImport.objects.filter(organization=organization).order_by("-created_at", "-pk")[:10]
    return render(request, "tenants/partners/import.html", {
        "organization": organization, "form": form, "imports": imports,
        "required_columns": svc.CSV_REQUIRED_COLUMNS, "optional_columns": svc.CSV_OPTIONAL_COLUMNS,
        "max_rows": svc.CSV_MAX_ROWS,
    })


@dealer_page("view_members")
def import_detail_view(request, organization, import_id):
    batch = get_object_or_404(InvitationImport.objects.filter(organization=organization), public_id=import_id)
    return render(request, "tenants/partners/import_detail.html", {"organization": organization, "batch": batch})


@dealer_page("view_members")
def link_requests_view(request, organization):
    return render(request, "tenants/partners/link_requests.html", {
        "organization": organization,
        "page": _page(request, svc.link_requests(organization)),
        "can_manage": request.actor.can(organization.pk, "manage_partners"),
    })


@require_POST
@dealer_page("manage_partners")
def link_request_answer_view(request, organization, link_id, answer):
    if answer not in ("accept", "decline"):
        raise Http404
    link = get_object_or_404(DealerLink.objects.filter(dealer=organization), public_id=link_id)
    try:
        if answer == "accept":
            svc.accept_link_request(actor=request.actor, dealer=organization, link=link)
            messages.success(request, _("{operator} is now linked to you.").format(operator=link.organization.name))
        else:
            svc.decline_link_request(actor=request.actor, dealer=organization, link=link)
            messages.success(request, _("The request of {operator} was declined.").format(
                operator=link.organization.name))
    except svc.PartnerError as exc:
        messages.error(request, exc.message)
    return redirect("partners_link_requests", org_id=organization.public_id)


# --- operator side ---------------------------------------------------------------------------


def _relation_context(request, organization, relation):
    return {
        "organization": organization,
        "relation": relation,
        "rights": [(value, label, value in relation.rights) for value, label in AccessRight.choices],
        "can_manage": request.actor.can(organization.pk, "manage_partners"),
    }


def _dealers_page(request, organization, link_form=None, status=200):
    can_manage = request.actor.can(organization.pk, "manage_partners")
    return render(request, "tenants/partners/dealers.html", {
        "organization": organization,
        "rows": [_relation_context(request, organization, r) for r in svc.dealer_relations(organization)],
        "pending": svc.pending_invitations_for_operator(organization),
        "link_form": link_form or (LinkRequestForm() if can_manage else None),
        "can_manage": can_manage,
        "agreement_signed": svc.agreement_signed(organization),
        "sign_url": svc.contract_sign_url(organization, request.path),
    }, status=status)


@organization_page("view_members")
def dealers_view(request, organization):
    return _dealers_page(request, organization)


@require_POST
@organization_page("manage_partners")
def link_request_view(request, organization):
    form = LinkRequestForm(request.POST)
    back = reverse("partners_dealers", args=[organization.public_id])
    if form.is_valid():
        try:
            link = svc.request_dealer_link(actor=request.actor, operator=organization, **form.lookup())
        except svc.PartnerError as exc:
            if exc.code == "E_AGREEMENT_REQUIRED":
                messages.info(request, exc.message)
                return redirect(svc.contract_sign_url(organization, back))
            form.add_error("dealer", exc.message)
        else:
            messages.success(request, _("Your request was sent to {dealer}. It decides whether to link you.").format(
                dealer=link.dealer.name))
            return redirect(back)
    return _dealers_page(request, organization, link_form=form, status=400)


def _relation_or_404(organization, dealer_id):
    try:
        return svc.dealer_relation(organization, dealer_id)
    except svc.PartnerError:
        raise Http404 from None


@require_POST
@organization_page("manage_partners")
def right_view(request, organization, dealer_id, right):
    """Grant (``granted=1``) or revoke (``granted=0``) one right; htmx gets the updated row back."""
    if right not in AccessRight.values:
        raise Http404
    relation = _relation_or_404(organization, dealer_id)
    granted = request.POST.get("granted") in ("1", "true", "on")
    error = None
    try:
        svc.set_dealer_right(actor=request.actor, operator=organization, dealer=relation.dealer, right=right,
                             granted=granted)
    except svc.PartnerError as exc:
        error = exc.message
    if request.htmx:  # the updated row; an error shows in the row (htmx does not swap error answers)
        try:
            relation = svc.dealer_relation(organization, dealer_id)
        except svc.PartnerError:  # the last right of a dealer without a link: the row goes away
            return HttpResponse("")
        context = _relation_context(request, organization, relation)
        return render(request, "tenants/partners/partials/dealer_row.html", {**context, "error": error})
    if error:
        messages.error(request, error)
    else:
        text = (_("{dealer} now has the right “{right}”.") if granted
                else _("{dealer} no longer has the right “{right}”."))
        messages.success(request, text.format(dealer=relation.dealer.name, right=RIGHT_LABELS[right]))
    return redirect("partners_dealers", org_id=organization.public_id)


@require_POST
@organization_page("manage_partners")
def link_end_view(request, organization, dealer_id):
    relation = _relation_or_404(organization, dealer_id)
    try:
        svc.end_link(actor=request.actor, operator=organization, dealer=relation.dealer)
    except svc.PartnerError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The link to {dealer} has ended; all its rights are revoked.").format(
            dealer=relation.dealer.name))
    return redirect("partners_dealers", org_id=organization.public_id)


@organization_page("manage_partners")
def invitation_accept_view(request, organization, invitation_id):
    """Last step of an invitation: usage agreement (redirect to sign it), then the rights to grant."""
    invitation = svc.claimed_invitation(organization, invitation_id)
    if invitation is None:
        raise Http404
    if invitation.status == "accepted":
        messages.info(request, _("This invitation is accepted already."))
        return redirect("partners_dealers", org_id=organization.public_id)
    if invitation.status != "open":
        return _invalid(request, svc.PartnerError("E_INVITATION_INVALID", _("This invitation is no longer valid."),
                                                  status=410))
    if not svc.agreement_signed(organization):
        messages.info(request, _("Please sign the usage agreement first; then you accept the link."))
        return redirect(svc.contract_sign_url(organization, request.path))
    form = AcceptRightsForm(request.POST if request.method == "POST" else None,
                            requested=invitation.requested_rights)
    if request.method == "POST" and form.is_valid():
        try:
            svc.accept_operator_invitation(actor=request.actor, invitation=invitation, operator=organization,
                                           rights=form.cleaned_data["rights"])
        except svc.PartnerError as exc:
            if exc.code == "E_AGREEMENT_REQUIRED":
                return redirect(svc.contract_sign_url(organization, request.path))
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("You are now linked to {dealer}.").format(dealer=invitation.organization.name))
            return redirect("partners_dealers", org_id=organization.public_id)
    return render(request, "tenants/partners/invitation_accept.html", {
        "organization": organization, "invitation": invitation, "form": form,
        "rights": [RIGHT_LABELS[r] for r in invitation.requested_rights],
    })


# --- public: the invitation link ----------------------------------------------------------------


def _invalid(request, error):
    return render(request, "tenants/partners/invitation_invalid.html", {"message": error.message},
                  status=error.status)


def _continue(invitation):
    return redirect("partners_invitation_accept", org_id=invitation.operator.public_id,
                    invitation_id=invitation.public_id)


def operator_invitation_view(request, token):
    """Register (or log in), take up the invitation for a company, then continue to the acceptance."""
    try:
        invitation = svc.invitation_for_token(token)
    except svc.PartnerError as exc:
        return _invalid(request, exc)
    if invitation.operator_id is not None:  # taken up already: only its company continues
        if request.user.is_authenticated and request.actor.can(invitation.operator_id, "manage_partners"):
            return _continue(invitation)
        return _invalid(request, svc.PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."),
                                                  status=410))
    context = {"invitation": invitation, "dealer": invitation.organization,
               "rights": [RIGHT_LABELS[r] for r in invitation.requested_rights]}
    if not request.user.is_authenticated:
        if get_user_model().objects.filter(email__iexact=invitation.contact_email).exists():
            return render(request, "tenants/partners/invitation_login.html", context)
        form = OperatorRegistrationForm(request.POST or None, invitation=invitation)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                user, _operator, invitation = svc.register_operator_from_invitation(
                    token=token, password=data["password1"], full_name=data["full_name"],
                    language=request.LANGUAGE_CODE, organization={k: data[k] for k in EDITABLE_FIELDS},
                )
            except svc.PartnerError as exc:
                form.add_error(None, exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Your account is ready. Secure it with two-factor authentication, then "
                                            "sign the usage agreement and accept the link."))
                return _continue(invitation)
        return render(request, "tenants/partners/invitation_register.html", {**context, "form": form})
    if request.user.email.lower() != invitation.contact_email.lower():
        return render(request, "tenants/partners/invitation_other_email.html", context, status=403)
    candidates = svc.operator_candidates(request.user, invitation)
    choose = ChooseOperatorForm(request.POST or None, candidates=candidates)
    wants_new = request.method == "POST" and request.POST.get("organization") == NEW_COMPANY
    new_company = NewCompanyForm(request.POST if wants_new else None, invitation=invitation)
    if request.method == "POST" and choose.is_valid():
        operator = choose.chosen
        if operator is not None or new_company.is_valid():
            try:
                invitation = svc.claim_invitation(
                    token=token, user=request.user, operator=operator,
                    organization=None if operator else {k: new_company.cleaned_data[k] for k in
                                                        NewCompanyForm.Meta.fields},
                )
            except svc.PartnerError as exc:
                if exc.status == 410:
                    return _invalid(request, exc)
                choose.add_error(None, exc.message)
            else:
                return _continue(invitation)
    return render(request, "tenants/partners/invitation_choose.html",
                  {**context, "choose": choose, "new_company": new_company, "candidates": candidates})
