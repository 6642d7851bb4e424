"""Serializers of the entitlements API. Ids are public UUIDs; the dealer comes from the URL."""

from rest_framework import serializers

from tenants.models import Entitlement, EntitlementOrder, PricePlan, Product
from tenants.services.entitlements import MAX_QUANTITY

__all__ = [
    "ActivateSerializer",
    "AssignSerializer",
    "EntitlementOrderSerializer",
    "EntitlementSerializer",
    "PricePlanSerializer",
    "ProductSerializer",
    "PurchaseSerializer",
]


class PricePlanSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = PricePlan
        fields = ["id", "valid_from", "base_fee", "included_transactions", "block_size", "block_price", "max_blocks",
                  "term_months"]


class ProductSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    plan = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "code", "name", "kind", "description", "vat_rate", "plan"]

    def get_plan(self, obj) -> PricePlanSerializer:
        plan = self.context.get("plans", {}).get(obj.pk)
        return PricePlanSerializer(plan).data if plan is not None else None


def _public_id(obj):
    return str(obj.public_id) if obj is not None else None


class EntitlementOrderSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    dealer_id = serializers.UUIDField(source="dealer.public_id", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True)
    plan_id = serializers.UUIDField(source="plan.public_id", read_only=True)
    entitlement_ids = serializers.SerializerMethodField()

    class Meta:
        model = EntitlementOrder
        fields = ["id", "dealer_id", "product", "plan_id", "quantity", "list_unit_price", "discount_percent",
                  "commitment", "created_at", "entitlement_ids"]

    def get_entitlement_ids(self, obj) -> list[str]:
        return [str(public_id) for public_id in
                Entitlement.unscoped.filter(order=obj).order_by("pk").values_list("public_id", flat=True)]


class EntitlementSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True)
    order_id = serializers.UUIDField(source="order.public_id", read_only=True)
    dealer_id = serializers.UUIDField(source="dealer.public_id", read_only=True)
    operator_id = serializers.SerializerMethodField()
    outlet_id = serializers.SerializerMethodField()
    signing_unit_id = serializers.SerializerMethodField()
    cancelled = serializers.SerializerMethodField()

    class Meta:
        model = Entitlement
        fields = ["id", "product", "order_id", "state", "dealer_id", "operator_id", "outlet_id", "signing_unit_id",
                  "assigned_at", "activated_at", "activated_by_dealer", "term_start", "term_end", "auto_renew",
                  "cancelled", "cancelled_at", "ended_at"]

    def get_operator_id(self, obj) -> str | None:
        return _public_id(obj.operator)

    def get_outlet_id(self, obj) -> str | None:
        return _public_id(obj.outlet)

    def get_signing_unit_id(self, obj) -> str | None:
        return _public_id(obj.signing_unit)

    def get_cancelled(self, obj) -> bool:
        return obj.cancelled_at is not None


class PurchaseSerializer(serializers.Serializer):
    product = serializers.CharField(max_length=40, help_text="The product code (e.g. TSE-SUB) or its id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class AssignSerializer(serializers.Serializer):
    operator_id = serializers.UUIDField()
    outlet_id = serializers.UUIDField()


class ActivateSerializer(serializers.Serializer):
    signing_unit_id = serializers.UUIDField(required=False, help_text="For signing-unit products.")
    outlet_id = serializers.UUIDField(required=False, help_text="For other products; for a stock entitlement the "
                                                                "outlet it is transferred to.")
