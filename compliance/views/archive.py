"""Pages of the archive: every stored export of an operator, its retention date and re-verification.

- ``compliance_archive`` (``view``): the archive table (filter by kind), SHA-256, retention date,
  the latest verification, and a warning listing the months without a TAR export per TSE.
- ``compliance_archive_item`` (``view``): one archive with its verification history and findings.
- ``compliance_archive_verify`` (POST, ``configure``): verify the stored file again. It runs in the
  request (the file is streamed, see ``compliance.services.archive``) and redirects to the item.

Archives cannot be deleted before their retention date; there is no delete button.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from compliance.models import ArchiveKind
from compliance.services.archive import (
    archive_item,
    archives,
    find_archive,
    missing_monthly_tar_exports,
    verification_history,
    verify_archive,
)
from portal.views.base import organization_page

__all__ = ["archive_item_view", "archive_verify_view", "archive_view", "download_url"]


def download_url(organization, item) -> str | None:
    """The existing download page of an archive (None when that page is not available)."""
    org_id = organization.public_id
    try:
        if item.kind == ArchiveKind.DSFINVK:
            return reverse("dsfinvk_export_download", kwargs={"org_id": org_id, "export_id": item.archive_id})
        if item.kind == ArchiveKind.TAR:
            return reverse("tse_export_download", kwargs={"org_id": org_id, "export_id": item.archive_id,
                                                          "signing_unit_id": item.obj.signing_unit.public_id})
        return reverse("compliance_nachschau_download", kwargs={"org_id": org_id, "bundle_id": item.archive_id})
    except NoReverseMatch:
        return None


def _decorate(organization, item):
    item.download_url = download_url(organization, item)
    return item


def _can_verify(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


@require_GET
@organization_page("view")
def archive_view(request, organization):
    kind = request.GET.get("kind", "")
    if kind not in ArchiveKind.values:
        kind = ""
    items = [_decorate(organization, item) for item in archives(organization, kind or None)]
    missing = [{"unit": unit, "month": month} for unit, month in missing_monthly_tar_exports(organization)]
    return render(request, "compliance/archive/list.html", {
        "organization": organization, "items": items, "kinds": ArchiveKind.choices, "kind": kind,
        "missing": missing, "can_verify": _can_verify(request, organization),
    })


def _archive(organization, kind, archive_id):
    archive = find_archive(organization, kind, archive_id)
    if archive is None:
        raise Http404
    return archive


@require_GET
@organization_page("view")
def archive_item_view(request, organization, kind, archive_id):
    archive = _archive(organization, kind, archive_id)
    return render(request, "compliance/archive/item.html", {
        "organization": organization, "item": _decorate(organization, archive_item(kind, archive)),
        "history": verification_history(kind, archive), "can_verify": _can_verify(request, organization),
    })


@require_POST
@organization_page("configure")
def archive_verify_view(request, organization, kind, archive_id):
    archive = _archive(organization, kind, archive_id)
    verification = verify_archive(request.actor, kind, archive)
    if verification.passed:
        messages.success(request, _("The archive was verified again: no problems found."))
    else:
        messages.error(request, _("The archive was verified again: %(count)s problems found.")
                       % {"count": len(verification.findings)})
    return redirect("compliance_archive_item", org_id=organization.public_id, kind=kind, archive_id=archive_id)
