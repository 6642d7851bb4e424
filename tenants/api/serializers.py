import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenants.models import ApiKey, Membership, MembershipRole, Organization
from tenants.validators import (
    normalize_tax_number,
    normalize_vat_id,
    normalize_w_idnr,
    validate_german_postal_code,
    validate_tax_number,
    validate_vat_id,
    validate_w_idnr,
)

__all__ = [
    "ApiKeyCreateSerializer",
    "ApiKeyCreatedSerializer",
    "ApiKeySerializer",
    "MeSerializer",
    "MembershipSerializer",
    "MembershipUpdateSerializer",
    "OrganizationSerializer",
]


class RoleSerializer(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.CharField()
    activated_at = serializers.DateTimeField(allow_null=True)


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    roles = RoleSerializer(many=True, read_only=True)
    tax_number = serializers.CharField(max_length=20, allow_blank=True, required=False)
    vat_id = serializers.CharField(max_length=20, allow_blank=True, required=False)
    w_idnr = serializers.CharField(max_length=20, allow_blank=True, required=False)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "legal_form",
            "street",
            "postal_code",
            "city",
            "country",
            "tax_number",
            "vat_id",
            "w_idnr",
            "email",
            "phone",
            "roles",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_tax_number(self, value):
        value = normalize_tax_number(value)
        validate_tax_number(value)
        return value

    def validate_vat_id(self, value):
        value = normalize_vat_id(value)
        validate_vat_id(value)
        return value

    def validate_w_idnr(self, value):
        value = normalize_w_idnr(value)
        validate_w_idnr(value)
        return value

    def validate_country(self, value):
        value = value.upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise serializers.ValidationError(_("Use the two-letter ISO country code."), code="invalid_country")
        return value

    def validate(self, attrs):
        country = attrs.get("country", getattr(self.instance, "country", "DE"))
        postal_code = attrs.get("postal_code", getattr(self.instance, "postal_code", ""))
        try:
            validate_german_postal_code(country, postal_code)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"postal_code": exc.messages}, code="invalid_postal_code") from None
        return attrs


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()


class MembershipSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=MembershipRole.choices)


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    prefix = serializers.CharField(source="display_prefix", read_only=True)
    rights = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    pos_device = serializers.BooleanField(
        read_only=True, help_text=_("A key for a POS device: it may use only the signing API (/api/v1/tss…)."))

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "rights",
            "can_write",
            "pos_device",
            "expires_at",
            "created_at",
            "revoked_at",
            "last_used_at",
            "is_active",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    can_write = serializers.BooleanField(default=False)
    pos_device = serializers.BooleanField(
        default=False,
        help_text=_("A key for a POS device (till): it may call only the signing API (/api/v1/tss…) of its own "
                    "organization — every other endpoint answers 403 E_API_KEY_RESTRICTED, and operators reached "
                    "through access grants do not exist for it. Such a key always has write access."),
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=_("The full key. It is shown only in this response."))

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class MeOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.public_id")
    name = serializers.CharField(source="organization.name")
    relation = serializers.ChoiceField(choices=["member", "partner"])
    role = serializers.CharField(allow_null=True)
    rights = serializers.ListField(child=serializers.CharField())
    capabilities = serializers.ListField(child=serializers.CharField())


class MeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "api_key"])
    user = UserSummarySerializer(allow_null=True)
    two_factor_enabled = serializers.BooleanField(allow_null=True)
    api_key = ApiKeySerializer(allow_null=True)
    environment = serializers.ChoiceField(choices=["sandbox", "live"])
    organizations = MeOrganizationSerializer(many=True)
