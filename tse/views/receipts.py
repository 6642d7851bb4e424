"""The receipt of one TSE transaction (§ 6 KassenSichV fields) with its DSFinV-K QR code (SVG and PNG)."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from portal.views.base import organization_page
from tse.models import TseTransaction
from tse.receipts.qr_code import render_png, render_svg
from tse.services.protocol import receipt_data
from tse.views.signing_units import require_operator

__all__ = ["receipt_qr_view", "receipt_view"]


def _receipt(organization, transaction_id):
    tx = get_object_or_404(TseTransaction.objects.filter(organization=organization)
                           .select_related("signing_unit", "client"), public_id=transaction_id)
    return receipt_data(tx, sandbox=settings.PORTAL_ENVIRONMENT == "sandbox")


@organization_page("view")
def receipt_view(request, organization, transaction_id):
    require_operator(organization)
    receipt = _receipt(organization, transaction_id)
    # segno writes the SVG itself from the QR string; nothing user-controlled is interpolated as markup
    svg = mark_safe(render_svg(receipt.qr_code, scale=3)) if receipt.qr_code else ""  # noqa: S308
    return render(request, "tse/receipt.html", {
        "organization": organization,
        "receipt": receipt,
        "unit": receipt.transaction.signing_unit,
        "qr_svg": svg,
    })


@organization_page("view")
def receipt_qr_view(request, organization, transaction_id):
    require_operator(organization)
    receipt = _receipt(organization, transaction_id)
    if not receipt.qr_code:
        raise Http404
    response = HttpResponse(render_png(receipt.qr_code, scale=4), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
