"""Serializers of the invoices API: invoices and credit notes with totals, lines, parties."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenants.models import Invoice, InvoiceLine

__all__ = ["InvoiceDetailSerializer", "InvoiceLineSerializer", "InvoiceSerializer"]


class PartySerializer(serializers.Serializer):
    name = serializers.CharField()
    street = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    vat_id = serializers.CharField(allow_blank=True, required=False)
    tax_number = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)


class VatRowSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text=_("VAT rate in percent."))
    net = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat = serializers.DecimalField(max_digits=14, decimal_places=2)


class InvoiceSerializer(serializers.ModelSerializer):
    """An issued invoice or credit note (amounts of a credit note are negative)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    # a plain string: an enum named "kind" would collide with the other "kind" enums of the schema
    kind = serializers.CharField(read_only=True, help_text=_(
        "`invoice`, or `credit_note` (a full reversal of the invoice named in `corrects`)."))
    corrects = serializers.SerializerMethodField(help_text=_("The number of the invoice a credit note corrects."))

    class Meta:
        model = Invoice
        fields = ["id", "number", "kind", "corrects", "issued_on", "period_start", "period_end", "currency",
                  "net_total", "vat_total", "gross_total"]
        read_only_fields = fields

    def get_corrects(self, invoice) -> str | None:
        return invoice.corrects.number if invoice.corrects_id else None


class InvoiceLineSerializer(serializers.ModelSerializer):
    signing_unit = serializers.UUIDField(source="signing_unit.public_id", read_only=True, allow_null=True,
                                         default=None)
    operator = serializers.UUIDField(source="operator.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = InvoiceLine
        fields = ["position", "description", "signing_unit", "operator", "transactions", "blocks", "list_amount",
                  "discount_percent", "net_amount", "vat_rate"]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceSerializer):
    issuer = PartySerializer(read_only=True)
    recipient = PartySerializer(read_only=True)
    vat_breakdown = VatRowSerializer(many=True, read_only=True)
    lines = serializers.SerializerMethodField()

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "issuer", "recipient", "vat_breakdown", "lines"]
        read_only_fields = fields

    def get_lines(self, invoice) -> list[dict]:
        lines = InvoiceLine.unscoped.filter(invoice=invoice).select_related("signing_unit", "operator")
        return InvoiceLineSerializer(lines.order_by("position"), many=True).data
