"""The invoices API of an organization: list, detail with lines, PDF / CSV / XRechnung XML.

Invoices are the recipient's business documents: its members and its own API keys see them; a
partner acting for the organization gets 404 (as for any object that does not exist for it).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from portal.api.views import OrganizationResourceMixin
from tenants.api.billing.serializers import InvoiceDetailSerializer, InvoiceSerializer
from tenants.models import Invoice
from tenants.services.billing.invoices import visible_invoice, visible_invoices
from tenants.views.billing import invoice_download

__all__ = ["InvoiceCsvView", "InvoiceDetailView", "InvoiceListView", "InvoicePdfView", "InvoiceXmlView"]

TAGS = ["billing"]
INVOICE_ID = OpenApiParameter("invoice_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description=_("The invoice's id."))
NOT_FOUND = OpenApiResponse(
    response=inline_serializer("InvoiceNotFound", {"code": serializers.CharField()}),
    description="E_NOT_FOUND: no such invoice of the organization (partners never see invoices).",
)


class _InvoiceMixin(OrganizationResourceMixin):
    http_method_names = ["get", "head", "options"]
    queryset = Invoice.objects.none()

    def get_queryset(self):
        return visible_invoices(self.actor, self.organization)

    def get_invoice(self) -> Invoice:
        return visible_invoice(self.actor, self.organization, self.kwargs["invoice_id"])


class InvoiceListView(_InvoiceMixin, generics.ListAPIView):
    """The invoices and credit notes the organization received, newest first."""

    serializer_class = InvoiceSerializer

    @extend_schema(tags=TAGS, operation_id="organizations_invoices_list", responses={200: InvoiceSerializer(
        many=True), 404: NOT_FOUND})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InvoiceDetailView(_InvoiceMixin, generics.GenericAPIView):
    """One invoice with issuer, recipient, net and VAT per rate, and its lines."""

    serializer_class = InvoiceDetailSerializer

    @extend_schema(tags=TAGS, operation_id="organizations_invoices_retrieve", parameters=[INVOICE_ID],
                   responses={200: InvoiceDetailSerializer, 404: NOT_FOUND})
    def get(self, request, *args, **kwargs):
        return Response(InvoiceDetailSerializer(self.get_invoice()).data)


class _FileRenderer(BaseRenderer):
    """Lets a caller ask for the file's media type; error envelopes stay JSON text."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


def _renderer(media_type: str, fmt: str) -> type[BaseRenderer]:
    return type(f"{fmt.title()}FileRenderer", (_FileRenderer,), {"media_type": media_type, "format": fmt})


FILE_TYPES = {"pdf": "application/pdf", "csv": "text/csv", "xml": "application/xml"}
RENDERERS = {fmt: _renderer(media_type, fmt) for fmt, media_type in FILE_TYPES.items()}


class InvoiceFileView(_InvoiceMixin, generics.GenericAPIView):
    """The invoice as a file: PDF, CSV (`;`, decimal comma, UTF-8 with BOM) or XRechnung (CII XML, EN 16931)."""

    fmt = "pdf"
    serializer_class = InvoiceSerializer

    def get_renderers(self):
        return [JSONRenderer(), RENDERERS[self.fmt]()]

    def get(self, request, *args, **kwargs):
        return invoice_download(self.get_invoice(), self.fmt)


def _file_schema(fmt: str, description: str):
    return extend_schema(
        tags=TAGS, operation_id=f"organizations_invoices_{fmt}", parameters=[INVOICE_ID], description=description,
        responses={(200, FILE_TYPES[fmt]): OpenApiTypes.BINARY, 404: NOT_FOUND},
    )


class InvoicePdfView(InvoiceFileView):
    fmt = "pdf"

    @_file_schema("pdf", "The invoice as a PDF (A4).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InvoiceCsvView(InvoiceFileView):
    fmt = "csv"

    @_file_schema("csv", "One row per line; `;`-separated, decimal comma, UTF-8 with BOM.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InvoiceXmlView(InvoiceFileView):
    fmt = "xml"

    @_file_schema("xml", "The structured e-invoice: UN/CEFACT CII XML, EN 16931 / XRechnung 3.0.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
