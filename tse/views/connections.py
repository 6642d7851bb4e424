"""Creating signing units of every backend on the TSE list page, and the LAN-TSE connection on the detail page.

The list page offers a create form per backend the portal can use here: the software TSE only
outside the live environment, fiskaly only when the portal has a fiskaly account, the LAN TSE
always. A form posts to the list page with its ``backend`` (no ``backend``: software, as before).
The LAN connection (host, port, token, maximum clients) is changed with ``configure``; the API
token is stored encrypted and never shown again.
"""

from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tse.backends.base import TseError
from tse.backends.software import ensure_software_tse_allowed
from tse.forms import FiskalyTseForm, LanConnectionForm, LanTseForm, SoftwareUnitForm
from tse.models import BackendType, LanTseConnection, SigningUnitState
from tse.services.connections import (
    create_fiskaly_signing_unit,
    create_lan_signing_unit,
    fiskaly_configured,
    lan_worker_command,
    update_lan_connection,
)
from tse.services.routing import signing_queue
from tse.services.signing_units import create_signing_unit
from tse.views import signing_units as unit_views

__all__ = ["create_unit_forms", "lan_connection_context", "lan_connection_view"]

CREATE_FORMS = {
    BackendType.SOFTWARE: SoftwareUnitForm,
    BackendType.FISKALY: FiskalyTseForm,
    BackendType.LAN: LanTseForm,
}


def _software_allowed() -> bool:
    try:
        ensure_software_tse_allowed()
    except TseError:
        return False
    return True


def offered_backends() -> list[str]:
    """The backends a unit can be created with here, in the order the page shows them."""
    offered = [BackendType.SOFTWARE] if _software_allowed() else []
    if fiskaly_configured():
        offered.append(BackendType.FISKALY)
    offered.append(BackendType.LAN)
    return offered


def _add_error(form, exc: TseError) -> None:
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, exc.message)


def _create(backend: str, actor, organization, data: dict):
    placement = {"outlet": data.get("outlet"), "description": data.get("description", "")}
    if backend == BackendType.SOFTWARE:
        unit = create_signing_unit(actor=actor, organization=organization, backend=BackendType.SOFTWARE,
                                   curve=data["curve"], **placement)
        return unit, _("The software TSE was created. Initialize it to start signing.")
    if backend == BackendType.FISKALY:
        unit = create_fiskaly_signing_unit(actor=actor, organization=organization, mode=data["mode"], **placement)
        return unit, _("The fiskaly TSE was created.")
    unit = create_lan_signing_unit(actor=actor, organization=organization, mode=data["mode"], host=data["host"],
                                   port=data["port"], token=data["token"],
                                   tse_serial_number=data["tse_serial_number"], max_clients=data["max_clients"],
                                   **placement)
    return unit, _("The LAN TSE was created. It signs once a worker with a device driver serves its queue "
                   "in the shop's network.")


def _create_form(backend: str, organization, data=None):
    # one page holds a form per backend: own HTML ids (``id_lan_host``), the same field names
    return CREATE_FORMS[backend](data, organization=organization, auto_id=f"id_{backend}_%s")


def create_unit_forms(request, organization):
    """The create forms of the list page by backend and, after a successful POST, the redirect.

    Only offered backends get a form; a POST for another one keeps its bound form so that the
    refusal (e.g. the software TSE in live) is shown with it.
    """
    forms = {backend: _create_form(backend, organization) for backend in offered_backends()}
    if request.method != "POST":
        return forms, None
    backend = request.POST.get("backend") or BackendType.SOFTWARE
    if backend not in CREATE_FORMS:
        messages.error(request, _("Unknown TSE type."))
        return forms, None
    form = forms[backend] = _create_form(backend, organization, request.POST)
    if form.is_valid():
        try:
            unit, message = _create(backend, request.actor, organization, form.cleaned_data)
        except TseError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, message)
            return forms, unit_views._to_detail(organization, unit)
    return forms, None


def lan_connection_context(request, organization, unit, lan_form=None) -> dict:
    """What ``tse/partials/lan_connection.html`` shows; empty for units that are not LAN TSEs."""
    if unit.backend != BackendType.LAN:
        return {"lan_connection": None}
    connection = LanTseConnection.objects.filter(signing_unit=unit).first()
    editable = (connection is not None and request.actor.can(organization.pk, "configure")
                and unit.state != SigningUnitState.DISABLED)
    if editable and lan_form is None:
        lan_form = LanConnectionForm(initial={"host": connection.host, "port": connection.port,
                                              "max_clients": unit.max_clients})
    return {
        "lan_connection": connection,
        "lan_form": lan_form if editable else None,
        "lan_queue": signing_queue(unit),
        "lan_worker_command": lan_worker_command(unit),
    }


@require_POST
@organization_page("configure")
def lan_connection_view(request, organization, signing_unit_id):
    unit_views.require_operator(organization)
    unit = unit_views._unit(organization, signing_unit_id)
    if unit.backend != BackendType.LAN or not LanTseConnection.objects.filter(signing_unit=unit).exists():
        raise Http404
    form = LanConnectionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            update_lan_connection(actor=request.actor, signing_unit=unit, host=data["host"], port=data["port"],
                                  token=data["token"], max_clients=data["max_clients"])
        except TseError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The connection of the LAN TSE was saved."))
            return unit_views._to_detail(organization, unit)
    return unit_views._render_detail(request, organization, unit, lan_form=form, status=400)
