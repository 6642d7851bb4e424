"""The fiscal protocol of an operator, filterable (htmx): every TSE transaction, the system log,
failed signings and outages; transactions, failures and outages exportable as CSV."""

from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.views.base import organization_page
from tse.forms import ProtocolFilterForm
from tse.services.outage_protocol import failure_csv_rows, outage_csv_rows, protocol_failures, protocol_outages
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
    shows = form.shows
    filters = {} if invalid else form.filters()
    listings = {
        form.SHOW_TRANSACTIONS: (protocol_transactions, protocol_csv_rows, "tse-protocol"),
        form.SHOW_SYSTEM_LOG: (protocol_system_logs, None, "tse-system-log"),
        form.SHOW_FAILURES: (protocol_failures, failure_csv_rows, "tse-failures"),
        form.SHOW_OUTAGES: (protocol_outages, outage_csv_rows, "tse-outages"),
    }
    listing, csv_rows, csv_name = listings[shows]
    rows = listing(organization, **filters)
    if invalid:
        rows = rows.none()  # a bad filter shows its errors, not everything
    if request.GET.get("format") == "csv" and csv_rows is not None:
        response = StreamingHttpResponse(csv_rows(rows), content_type="text/csv; charset=utf-8")
        name = f"{csv_name}_{timezone.localtime():%Y%m%dT%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    template = "tse/partials/protocol_rows.html" if request.htmx else "tse/protocol.html"
    return render(request, template, {
        "organization": organization,
        "form": form,
        "page": page,
        "system_log": shows == form.SHOW_SYSTEM_LOG,
        "shows": shows,
        "query": query.urlencode(),
    })
