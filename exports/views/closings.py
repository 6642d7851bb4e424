"""The cash point closings (Kassenabschlüsse) of an operator: filter by cash register and state.

Each row: Z_NR, the time of the closing (Europe/Berlin), its state, the totals and transaction
count of an accepted closing, and the error list of a rejected one. Reading needs ``view``
(members, dealers granted ``read``); other organizations do not exist (404).
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from exports.forms import ClosingFilterForm
from exports.models import CashPointClosing, CashRegister, ClosingState
from exports.views.master_data import require_operator
from portal.views.base import organization_page

__all__ = ["closings_view", "organization_urlpatterns"]

PAGE_SIZE = 50


@require_GET
@organization_page("view")
def closings_view(request, organization):
    require_operator(organization)
    registers = list(CashRegister.objects.filter(organization=organization).select_related("client")
                     .order_by("client__client_id", "pk"))
    form = ClosingFilterForm(request.GET or None, registers=registers)
    closings = (CashPointClosing.objects.filter(organization=organization)
                .select_related("cash_register__client", "revision")
                .defer("payload", "document", "revision__data")
                .order_by("-export_creation_date", "-pk"))
    if form.is_bound and form.is_valid():
        if form.cleaned_data["cash_register"]:
            closings = closings.filter(cash_register__public_id=form.cleaned_data["cash_register"])
        if form.cleaned_data["state"]:
            closings = closings.filter(state=form.cleaned_data["state"])
    elif form.is_bound:
        closings = closings.none()
    page = Paginator(closings, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "exports/closings.html", {
        "organization": organization, "form": form, "page": page, "states": ClosingState,
        "query": query.urlencode(),
    })


organization_urlpatterns = [
    path("dsfinvk/closings/", closings_view, name="dsfinvk_closings"),
]
