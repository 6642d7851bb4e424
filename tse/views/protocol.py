"""The fiscal protocol of an operator: every TSE transaction (or the system log), filterable (htmx),
the transactions exportable as CSV."""

from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.views.base import organization_page
from tse.forms import ProtocolFilterForm
from tse.services.protocol import process_types, protocol_csv_rows, protocol_system_logs, protocol_transactions
from tse.views.signing_units import require_operator

__all__ = ["protocol_view"]

PAGE_SIZE = 50


@organization_page("view")
def protocol_view(request, organization):
    require_operator(organization)
    form = ProtocolFilterForm(request.GET or None, organization=organization,
                              process_types=process_types(organization))
    invalid = form.is_bound and not form.is_valid()
    if invalid and request.GET.get("format") == "csv":
        return HttpResponseBadRequest(_("The filter is invalid."), content_type="text/plain; charset=utf-8")
    system_log = form.shows_system_log
    filters = {} if invalid else form.filters()
    transactions = protocol_transactions(organization, **filters)
    if invalid:
        transactions = transactions.none()  # a bad filter shows its errors, not everything
    if request.GET.get("format") == "csv" and not system_log:
        response = StreamingHttpResponse(protocol_csv_rows(transactions), content_type="text/csv; charset=utf-8")
        name = f"tse-protocol_{timezone.localtime():%Y%m%dT%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    rows = protocol_system_logs(organization, **filters) if system_log else transactions
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    template = "tse/partials/protocol_rows.html" if request.htmx else "tse/protocol.html"
    return render(request, template, {
        "organization": organization,
        "form": form,
        "page": page,
        "system_log": system_log,
        "query": query.urlencode(),
    })
