"""DSFinV-K master-data pages of an operator: cash registers (list, create, detail with the revision
history, edit, decommission) and VAT definitions (Anlage 2 read-only, own keys editable).

Reading needs ``view_master_data`` (members, dealers granted ``read``); every change needs
``configure`` (403 otherwise). Other organizations and their registers do not exist (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exports.dsfinvk.vat_keys import SYSTEM_VAT_KEYS
from exports.forms import CashRegisterForm, DecommissionForm, ReplaceTseForm, VatDefinitionForm
from exports.models import CashPointClosing, CashRegister, ClosingState, MasterDataRevision, VatDefinition
from exports.services import cash_registers as service
from exports.services.master_data import diff_master_data
from exports.services.tse_replacement import replace_tse
from portal.views.base import organization_page
from tenants.models import RoleKind

__all__ = ["cash_register_decommission_view", "cash_register_replace_tse_view", "cash_register_view",
           "cash_registers_view", "organization_urlpatterns", "require_operator", "vat_definition_delete_view",
           "vat_definitions_view"]

READ = "view_master_data"
SECTIONS = (("cashpointclosing", "cashpointclosing.csv"), ("location", "location.csv"),
            ("cashregister", "cashregister.csv"))


def require_operator(organization) -> None:
    """DSFinV-K pages exist only for organizations with the operator role."""
    if not organization.has_role(RoleKind.OPERATOR):
        raise Http404


def _can_configure(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


def _require_configure(request, organization) -> None:
    if not _can_configure(request, organization):
        raise PermissionDenied


def _errors_to_form(form, exc: DjangoValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _registers(organization):
    last = CashPointClosing.objects.filter(cash_register=OuterRef("pk"), state=ClosingState.COMPLETED).order_by(
        "-z_nr")
    return (CashRegister.objects.filter(organization=organization)
            .select_related("client__signing_unit", "outlet", "pos_system_version__pos_system")
            .annotate(last_z_nr=Subquery(last.values("z_nr")[:1]),
                      last_closing_at=Subquery(last.values("export_creation_date")[:1]))
            .order_by("client__client_id", "pk"))


def _register(organization, cash_register_id) -> CashRegister:
    return get_object_or_404(_registers(organization), public_id=cash_register_id)


def _to_detail(organization, register):
    return redirect("dsfinvk_cash_register", org_id=organization.public_id, cash_register_id=register.public_id)


# --- cash registers --------------------------------------------------------------------------


@organization_page(READ)
def cash_registers_view(request, organization):
    require_operator(organization)
    can_configure = _can_configure(request, organization)
    form = None
    status = 200
    if request.method == "POST":
        _require_configure(request, organization)
        form = CashRegisterForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                register = service.create_cash_register(actor=request.actor, organization=organization,
                                                        **form.cleaned_data)
            except DjangoValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("The cash register {serial} is created.").format(serial=register.kasse_id))
                return _to_detail(organization, register)
        status = 400
    elif can_configure:
        form = CashRegisterForm(organization=organization)
    rows = [(register, service.register_status(register)) for register in _registers(organization)]
    return render(request, "exports/cash_registers.html", {
        "organization": organization, "rows": rows, "form": form, "can_configure": can_configure,
        "has_free_clients": service.unused_clients(organization).exists(),
    }, status=status)


def _revision_history(register) -> list[dict]:
    closings = CashPointClosing.objects.filter(state=ClosingState.COMPLETED).order_by("z_nr").only(
        "z_nr", "export_creation_date", "revision_id", "closing_id")
    revisions = list(MasterDataRevision.objects.filter(cash_register=register)
                     .annotate(closing_count=Count("closings", filter=Q(closings__state=ClosingState.COMPLETED)))
                     .prefetch_related(Prefetch("closings", queryset=closings, to_attr="completed_closings"))
                     .order_by("number"))
    history = []
    previous = None
    for revision in revisions:
        history.append({"revision": revision, "closings": revision.completed_closings[:20],
                         "changes": diff_master_data(previous.data if previous else None, revision.data)})
        previous = revision
    return history[::-1]


def _render_detail(request, organization, register, *, form=None, decommission_form=None, replace_form=None,
                   status=200):
    can_configure = _can_configure(request, organization)
    active = register.decommissioned_at is None
    if can_configure and active and form is None:
        form = CashRegisterForm(organization=organization, cash_register=register)
    state = service.register_status(register)
    latest = state.latest
    return render(request, "exports/cash_register.html", {
        "organization": organization, "register": register, "status": state,
        "sections": [(file, state.data[section]) for section, file in SECTIONS],
        "tse_rows": state.data["tse"], "vat_rows": state.data["vat"],
        "current_changes": diff_master_data(latest.data, state.data) if latest is not None else [],
        "history": _revision_history(register), "can_configure": can_configure,
        "form": form if can_configure and active else None,
        "decommission_form": (decommission_form or DecommissionForm()) if can_configure and active else None,
        "replace_form": (replace_form or ReplaceTseForm(cash_register=register)) if can_configure and active else None,
    }, status=status)


@organization_page(READ)
def cash_register_view(request, organization, cash_register_id):
    require_operator(organization)
    register = _register(organization, cash_register_id)
    if request.method != "POST":
        return _render_detail(request, organization, register)
    _require_configure(request, organization)
    form = CashRegisterForm(request.POST, organization=organization, cash_register=register)
    if form.is_valid():
        try:
            service.update_cash_register(actor=request.actor, cash_register=register, changes=form.cleaned_data)
        except DjangoValidationError as exc:
            _errors_to_form(form, exc)
        except service.MasterDataError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The cash register is saved."))
            return _to_detail(organization, register)
    return _render_detail(request, organization, register, form=form, status=400)


@require_POST
@organization_page("configure")
def cash_register_decommission_view(request, organization, cash_register_id):
    require_operator(organization)
    register = _register(organization, cash_register_id)
    form = DecommissionForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, organization, register, decommission_form=form, status=400)
    try:
        service.decommission_cash_register(actor=request.actor, cash_register=register,
                                           reason=form.cleaned_data["reason"], note=form.cleaned_data["note"])
    except DjangoValidationError as exc:
        _errors_to_form(form, exc)
        return _render_detail(request, organization, register, decommission_form=form, status=400)
    except service.MasterDataError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The cash register is decommissioned."))
    return _to_detail(organization, register)


@require_POST
@organization_page("configure")
def cash_register_replace_tse_view(request, organization, cash_register_id):
    require_operator(organization)
    register = _register(organization, cash_register_id)
    form = ReplaceTseForm(request.POST, cash_register=register)
    if not form.is_valid():
        return _render_detail(request, organization, register, replace_form=form, status=400)
    try:
        replace_tse(request.actor, register, form.cleaned_data["signing_unit"])
    except service.MasterDataError as exc:
        form.add_error(None, exc.message)
        return _render_detail(request, organization, register, replace_form=form, status=400)
    messages.success(request, _("The cash register now signs with the new TSE. Notify the tax office within one "
                                "month."))
    return _to_detail(organization, register)


# --- VAT definitions -------------------------------------------------------------------------


@organization_page(READ)
def vat_definitions_view(request, organization):
    require_operator(organization)
    can_configure = _can_configure(request, organization)
    form = VatDefinitionForm() if can_configure else None
    status = 200
    if request.method == "POST":
        _require_configure(request, organization)
        form = VatDefinitionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                definition, created = service.save_vat_definition(
                    actor=request.actor, organization=organization, key=data["key"], rate=data["rate"],
                    description=data["description"], slot=data["slot"])
            except DjangoValidationError as exc:
                _errors_to_form(form, exc)
            except service.MasterDataError as exc:
                form.add_error("key", exc.message)
            else:
                text = _("VAT key {key} is created.") if created else _("VAT key {key} is saved.")
                messages.success(request, text.format(key=definition.key))
                return redirect("dsfinvk_vat_definitions", org_id=organization.public_id)
        status = 400
    today = timezone.localdate()
    system_rows = [{"key": vat.key, "rate": vat.rate_on(today), "description": vat.description, "slot": vat.slot}
                   for vat in SYSTEM_VAT_KEYS]
    own = list(VatDefinition.objects.filter(organization=organization).order_by("key"))
    return render(request, "exports/vat_definitions.html", {
        "organization": organization, "system_rows": system_rows, "own": own, "form": form,
        "can_configure": can_configure, "today": today,
    }, status=status)


@require_POST
@organization_page("configure")
def vat_definition_delete_view(request, organization, key):
    require_operator(organization)
    definition = get_object_or_404(VatDefinition.objects.filter(organization=organization), key=key)
    try:
        service.delete_vat_definition(actor=request.actor, vat_definition=definition)
    except service.MasterDataError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("VAT key {key} is deleted.").format(key=key))
    return redirect("dsfinvk_vat_definitions", org_id=organization.public_id)


organization_urlpatterns = [
    path("dsfinvk/cash-registers/", cash_registers_view, name="dsfinvk_cash_registers"),
    path("dsfinvk/cash-registers/<uuid:cash_register_id>/", cash_register_view, name="dsfinvk_cash_register"),
    path("dsfinvk/cash-registers/<uuid:cash_register_id>/decommission/", cash_register_decommission_view,
         name="dsfinvk_cash_register_decommission"),
    path("dsfinvk/cash-registers/<uuid:cash_register_id>/replace-tse/", cash_register_replace_tse_view,
         name="dsfinvk_cash_register_replace_tse"),
    path("dsfinvk/vat/", vat_definitions_view, name="dsfinvk_vat_definitions"),
    path("dsfinvk/vat/<int:key>/delete/", vat_definition_delete_view, name="dsfinvk_vat_definition_delete"),
]
