"""The failure side of the fiscal protocol: failed signing attempts and the outage documentation.

- *Failures*: every API revision whose signing failed or timed out at least once (it points at
  an outage, or its status is failed), with the error and whether it was signed later.
- *Outages*: start, end, duration, reason and affected signings per TSE — the outage
  documentation the Verfahrensdokumentation needs (AEAO zu § 146a Nr. 1.14/2.7), also as CSV.
Dates are calendar days in Europe/Berlin.
"""

import csv
from datetime import datetime

from django.db.models import Q

from tse.models import ApiTransactionRevision, Outage, RevisionStatus
from tse.services.protocol import BERLIN, _Echo, berlin_time

__all__ = ["FAILURE_CSV_HEADER", "OUTAGE_CSV_HEADER", "failure_csv_rows", "outage_csv_rows", "protocol_failures",
           "protocol_outages"]

FAILURE_CSV_HEADER = ["tss_serial_number", "client_id", "tx_id", "revision", "requested_state", "time",
                      "error_code", "error_message", "signed_later", "outage_start"]
OUTAGE_CSV_HEADER = ["tss_serial_number", "start", "end", "duration_seconds", "reason", "error_code",
                     "error_message", "failed_signings"]


def _day_start(day):
    return datetime.combine(day, datetime.min.time(), tzinfo=BERLIN)


def _day_end(day):
    return datetime.combine(day, datetime.max.time(), tzinfo=BERLIN)


def protocol_failures(organization, *, date_from=None, date_to=None, signing_unit=None, client=None, **_ignored):
    """Failed signing attempts of the operator, newest first."""
    queryset = (ApiTransactionRevision.objects.filter(organization=organization)
                .filter(Q(outage__isnull=False) | Q(status=RevisionStatus.FAILED))
                .select_related("api_transaction__signing_unit", "api_transaction__client", "outage"))
    if date_from is not None:
        queryset = queryset.filter(created_at__gte=_day_start(date_from))
    if date_to is not None:
        queryset = queryset.filter(created_at__lte=_day_end(date_to))
    if signing_unit is not None:
        queryset = queryset.filter(api_transaction__signing_unit=signing_unit)
    if client:
        queryset = queryset.filter(api_transaction__client__client_id=client)
    return queryset.order_by("-created_at", "-pk")


def protocol_outages(organization, *, date_from=None, date_to=None, signing_unit=None, **_ignored):
    """The operator's outages (open ones included), newest first; a date range selects overlapping ones."""
    queryset = Outage.objects.filter(organization=organization).select_related("signing_unit")
    if date_from is not None:
        queryset = queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gte=_day_start(date_from)))
    if date_to is not None:
        queryset = queryset.filter(started_at__lte=_day_end(date_to))
    if signing_unit is not None:
        queryset = queryset.filter(signing_unit=signing_unit)
    return queryset.order_by("-started_at", "-pk")


def _lines(header, rows, row_of):
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(header)
    for row in rows.iterator(chunk_size=500):
        yield writer.writerow(row_of(row))


def failure_csv_rows(queryset):
    def row_of(revision):
        tx = revision.api_transaction
        return [tx.signing_unit.serial_number, tx.client.client_id, str(tx.tx_id), revision.revision, revision.state,
                berlin_time(revision.created_at), revision.error_code or (revision.outage.error_code
                                                                          if revision.outage else ""),
                revision.error_message or (revision.outage.error_message if revision.outage else ""),
                "yes" if revision.status == RevisionStatus.SIGNED else "no",
                berlin_time(revision.outage.started_at) if revision.outage else ""]

    return _lines(FAILURE_CSV_HEADER, queryset, row_of)


def outage_csv_rows(queryset):
    def row_of(outage):
        duration = int((outage.ended_at - outage.started_at).total_seconds()) if outage.ended_at else ""
        return [outage.signing_unit.serial_number, berlin_time(outage.started_at), berlin_time(outage.ended_at),
                duration, outage.reason, outage.error_code, outage.error_message, outage.failed_signings]

    return _lines(OUTAGE_CSV_HEADER, queryset, row_of)
