"""The TSE expiry and certification watch (reference/legal.md §9.3).

- ``compliance_watch`` (operator, ``view``: members and partners with any right): every TSE in use with its
  device certificate and product certification, the most urgent first, and the BSI table excerpt of the
  products in use; ``?format=csv`` downloads the rows.
- ``compliance_replacements`` (a dealer, on its own organization, members only — partners and organizations
  without the dealer role: 404): the TSEs of all operators that granted it any right that need replacing soon,
  grouped by operator; ``?format=csv`` downloads them.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.views.base import organization_page
from tenants.models import RoleKind
from tse.services.certifications import (
    granting_operator_ids,
    group_by_operator,
    replacement_rows,
    watch_csv,
    watch_rows,
)

__all__ = ["replacements_view", "watch_view"]


def _roles(organization) -> set[str]:
    return {role.kind for role in organization.roles.all()}


def _csv(rows, name: str, today) -> HttpResponse:
    response = HttpResponse(watch_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}_{today:%Y%m%d}.csv"'
    return response


def _certifications_in_use(rows) -> list:
    """``[(certification, status, unit count)]`` of the products in use, by certification id."""
    seen: dict[int, list] = {}
    for row in rows:
        if row.certification is not None:
            entry = seen.setdefault(row.certification.pk, [row.certification, row.product, 0])
            entry[2] += 1
    return sorted((tuple(entry) for entry in seen.values()), key=lambda entry: entry[0].certification_id)


@organization_page("view")
def watch_view(request, organization):
    if RoleKind.OPERATOR not in _roles(organization):
        raise Http404  # TSE pages exist for operators only
    today = timezone.localdate()
    rows = watch_rows([organization], today)
    if request.GET.get("format") == "csv":
        return _csv(rows, "tse-watch", today)
    return render(request, "compliance/watch/watch.html", {
        "organization": organization,
        "rows": rows,
        "attention": [row for row in rows if row.level],
        "certifications": _certifications_in_use(rows),
        "has_software": any(row.is_software for row in rows),
        "today": today,
    })


@organization_page("view_members")
def replacements_view(request, organization):
    if RoleKind.DEALER not in _roles(organization):
        raise Http404  # a dealer-only page
    today = timezone.localdate()
    rows = replacement_rows(organization, today)
    if request.GET.get("format") == "csv":
        return _csv(rows, "tse-replacements", today)
    return render(request, "compliance/watch/replacements.html", {
        "organization": organization,
        "groups": group_by_operator(rows),
        "count": len(rows),
        "operator_count": len(granting_operator_ids(organization)),
        "today": today,
    })
