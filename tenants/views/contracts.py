"""Pages of the contracts feature: role contracts (state, sign, terminate, history, any version's
text) and dealer framework contracts (list, detail, countersign). All logic is in the services."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.contracts import ApplyForRoleForm, CountersignForm, SignContractForm, TerminateRoleForm
from tenants.models import ContractKind, ContractVersion, FrameworkContract, RoleKind
from tenants.services.contracts import (
    CONTRACT_FOR_ROLE,
    LANGUAGES,
    ContractError,
    apply_for_role,
    contract_text,
    organization_role_states,
    published_version,
    role_state,
    sign_contract,
    signature_history,
    terminate_role,
    text_sha256,
)
from tenants.services.framework_contracts import (
    countersign_framework_contract,
    framework_state,
    framework_terms_text,
    framework_text_sha256,
    is_dealer,
    tiers_of,
)


def client_meta(request) -> dict:
    """IP address and user agent of the signer, kept as evidence."""
    return {"ip": request.META.get("REMOTE_ADDR"), "user_agent": request.META.get("HTTP_USER_AGENT", "")}


def _safe_next(request, candidate: str | None) -> str | None:
    """``candidate`` if it is a local URL of this site (so ``?next=`` cannot send anyone elsewhere)."""
    if candidate and candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _language(request, posted: str | None = None) -> str:
    for candidate in (posted, request.GET.get("lang"), getattr(request, "LANGUAGE_CODE", None)):
        if candidate in LANGUAGES:
            return candidate
    return "de"


def _members_only(request, organization) -> None:
    """Evidence and commercial terms are not shown to partners acting for the organization."""
    if request.actor.is_partner_of(organization.pk):
        raise Http404


def _check_role_kind(role_kind: str) -> None:
    if role_kind not in CONTRACT_FOR_ROLE:
        raise Http404


def _language_links(request, language: str, next_url: str | None) -> list[dict]:
    links = []
    for code, label in (("de", "Deutsch"), ("en", "English")):
        query = {"lang": code, **({"next": next_url} if next_url else {})}
        links.append({"code": code, "label": label, "url": f"{request.path}?{urlencode(query)}",
                      "active": code == language})
    return links


def _after_signing(request, organization, next_url: str | None):
    return redirect(next_url or reverse("contracts", kwargs={"org_id": organization.public_id}))


# --- role contracts --------------------------------------------------------------------------


@organization_page("view")
def contracts_view(request, organization):
    states = organization_role_states(organization)
    is_member = organization.pk in request.actor.member_roles
    can_sign = request.actor.can(organization.pk, "sign_contracts")
    available = [state.kind for state in states if not state.held]
    history = None
    if is_member:
        history = Paginator(signature_history(organization), 25).get_page(request.GET.get("page"))
    return render(request, "tenants/contracts/contracts.html", {
        "organization": organization,
        "states": states,
        "can_sign": can_sign,
        "is_member": is_member,
        "apply_form": ApplyForRoleForm(available=available) if can_sign and available else None,
        "history": history,
        "is_dealer": is_member and is_dealer(organization),
    })


@require_POST
@organization_page("sign_contracts")
def contract_apply_view(request, organization):
    states = organization_role_states(organization)
    form = ApplyForRoleForm(request.POST, available=[state.kind for state in states if not state.held])
    if not form.is_valid():
        messages.error(request, _("Please choose a role the organization does not hold yet."))
        return redirect("contracts", org_id=organization.public_id)
    role_kind = form.cleaned_data["role_kind"]
    try:
        apply_for_role(actor=request.actor, organization=organization, role_kind=role_kind)
    except ContractError as exc:
        messages.error(request, exc.message)
        return redirect("contracts", org_id=organization.public_id)
    messages.success(request, _("You applied for the role {role}. Sign its contract to activate it.").format(
        role=RoleKind(role_kind).label))
    return redirect("contract_sign", org_id=organization.public_id, role_kind=role_kind)


def _signature_page(request, organization, role_kind, *, terminate: bool):
    _check_role_kind(role_kind)
    state = role_state(organization, role_kind)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    contracts_url = reverse("contracts", kwargs={"org_id": organization.public_id})
    if terminate:
        if state.signature is None:
            messages.info(request, _("This role has no signed contract to terminate."))
            return redirect(contracts_url)
        version = state.signature.contract_version
    else:
        if state.version is None:
            messages.error(request, _("There is no published contract for this role yet."))
            return redirect(contracts_url)
        if not state.needs_signature:
            messages.info(request, _("The current version of this contract is signed already."))
            return _after_signing(request, organization, next_url)
        version = state.version
    form_class = TerminateRoleForm if terminate else SignContractForm
    language = _language(request, request.POST.get("language") if request.method == "POST" else None)
    error = None
    form = None
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            service = terminate_role if terminate else sign_contract
            try:
                service(
                    actor=request.actor, organization=organization, role_kind=role_kind,
                    typed_name=form.cleaned_data["typed_name"], language=form.cleaned_data["language"],
                    shown_sha256=form.cleaned_data["text_sha256"], consent=form.cleaned_data["consent"],
                    meta=client_meta(request),
                )
            except ContractError as exc:
                if exc.code in ("E_ALREADY_SIGNED", "E_NOT_SIGNED"):
                    messages.info(request, exc.message)
                    return _after_signing(request, organization, next_url)
                if exc.code == "E_TEXT_CHANGED":
                    # Show the text as it is now, with its own hash; the signer must read it again.
                    state = role_state(organization, role_kind)
                    version = state.signature.contract_version if terminate and state.signature else state.version
                    error = exc.message
                    form = None
                else:
                    form.add_error(exc.field, exc.message)
            else:
                if terminate:
                    messages.success(request, _("The role {role} is terminated. A confirmation is on its way by "
                                                "e-mail.").format(role=RoleKind(role_kind).label))
                else:
                    messages.success(request, _("The contract is signed. A confirmation with the evidence is on "
                                                "its way by e-mail."))
                return _after_signing(request, organization, next_url)
    title, text = contract_text(version, language)
    sha = text_sha256(version, language)
    if form is None:
        form = form_class(initial={"text_sha256": sha, "language": language, "next": next_url or ""})
    elif form.is_bound:
        # The hidden hash always belongs to the text on this page.
        data = form.data.copy()
        data["text_sha256"], data["language"] = sha, language
        form.data = data
    return render(request, "tenants/contracts/sign.html", {
        "organization": organization,
        "state": state,
        "version": version,
        "terminate": terminate,
        "title": title,
        "text": text,
        "text_sha256": sha,
        "language": language,
        "language_links": _language_links(request, language, next_url),
        "form": form,
        "error": error,
        "acting": request.actor.is_partner_of(organization.pk),
        "account_name": request.user.full_name,
    })


@organization_page("sign_contracts")
def contract_sign_view(request, organization, role_kind):
    return _signature_page(request, organization, role_kind, terminate=False)


@organization_page("sign_contracts")
def contract_terminate_view(request, organization, role_kind):
    return _signature_page(request, organization, role_kind, terminate=True)


@login_required
def contract_version_view(request, kind, version):
    """The text of any published version of a role contract, for every logged-in user."""
    if kind not in ContractKind.values:
        raise Http404
    contract_version = published_version(kind, version)
    if contract_version is None:
        raise Http404
    language = _language(request)
    title, text = contract_text(contract_version, language)
    versions = ContractVersion.objects.filter(kind=kind, published_at__lte=timezone.now()).order_by("-version")
    return render(request, "tenants/contracts/version.html", {
        "version": contract_version,
        "title": title,
        "text": text,
        "text_sha256": text_sha256(contract_version, language),
        "language": language,
        "language_links": _language_links(request, language, None),
        "versions": versions,
    })


# --- framework contracts ---------------------------------------------------------------------


@organization_page("view")
def framework_contracts_view(request, organization):
    _members_only(request, organization)
    contracts = list(FrameworkContract.objects.filter(organization=organization).order_by("-starts_on", "-pk"))
    for contract in contracts:
        contract.state = framework_state(contract)
    return render(request, "tenants/contracts/framework_contracts.html", {
        "organization": organization,
        "contracts": contracts,
        "can_sign": request.actor.can(organization.pk, "sign_contracts"),
    })


def _framework_page(request, organization, contract_id, *, countersign: bool):
    _members_only(request, organization)
    contract = get_object_or_404(FrameworkContract.objects.filter(organization=organization), public_id=contract_id)
    can_sign = request.actor.can(organization.pk, "sign_contracts")
    if countersign and not can_sign:
        raise PermissionDenied
    detail_url = reverse("framework_contract", kwargs={"org_id": organization.public_id, "contract_id": contract_id})
    form = None
    error = None
    if countersign and request.method == "POST":
        form = CountersignForm(request.POST)
        if form.is_valid():
            try:
                countersign_framework_contract(
                    actor=request.actor, contract=contract, typed_name=form.cleaned_data["typed_name"],
                    shown_sha256=form.cleaned_data["text_sha256"], consent=form.cleaned_data["consent"],
                    meta=client_meta(request),
                )
            except ContractError as exc:
                if exc.code in ("E_ALREADY_SIGNED", "E_CONTRACT_EXPIRED"):
                    messages.info(request, exc.message)
                    return redirect(detail_url)
                if exc.code == "E_TEXT_CHANGED":
                    contract.refresh_from_db()
                    error, form = exc.message, None
                else:
                    form.add_error(exc.field, exc.message)
            else:
                messages.success(request, _("The framework contract is countersigned. A confirmation is on its way "
                                            "by e-mail."))
                return redirect(detail_url)
    contract.state = framework_state(contract)
    sha = framework_text_sha256(contract)
    if can_sign and contract.state == "awaiting":
        if form is None:
            form = CountersignForm(initial={"text_sha256": sha})
        else:
            data = form.data.copy()
            data["text_sha256"] = sha
            form.data = data
    else:
        form = None
    return render(request, "tenants/contracts/framework_contract.html", {
        "organization": organization,
        "contract": contract,
        "tiers": tiers_of(contract),
        "terms_text": framework_terms_text(contract),
        "text_sha256": sha,
        "form": form,
        "error": error,
        "account_name": request.user.full_name,
    })


@organization_page("view")
def framework_contract_view(request, organization, contract_id):
    return _framework_page(request, organization, contract_id, countersign=False)


@organization_page("view")
def framework_contract_countersign_view(request, organization, contract_id):
    return _framework_page(request, organization, contract_id, countersign=True)
