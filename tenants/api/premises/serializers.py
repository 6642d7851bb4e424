"""Serializers of the premises API. The organization comes from the URL, never from the payload."""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.exceptions import ApiError
from tenants.models import Betriebsstaette, Outlet
from tenants.validators import validate_country_code, validate_german_postal_code

__all__ = [
    "BetriebsstaetteSerializer",
    "CloseSerializer",
    "DataCheckSerializer",
    "OutletSerializer",
]

ADDRESS = ["street", "house_number", "postal_code", "city", "country"]


class AddressValidationMixin:
    def validate_country(self, value):
        value = value.strip().upper()
        try:
            validate_country_code(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code="invalid_country") from None
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        country = attrs.get("country", getattr(self.instance, "country", "DE"))
        postal_code = attrs.get("postal_code", getattr(self.instance, "postal_code", ""))
        if "country" in attrs or "postal_code" in attrs:
            try:
                validate_german_postal_code(country, postal_code)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"postal_code": exc.messages}, code="invalid_postal_code") from None
        return attrs


class BetriebsstaetteSerializer(AddressValidationMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = Betriebsstaette
        fields = ["id", "name", *ADDRESS, "remarks", "closed_on", "is_open", "created_at"]
        read_only_fields = ["closed_on", "created_at"]
        extra_kwargs = {"country": {"default": "DE"}}

    def get_is_open(self, obj) -> bool:
        return obj.closed_on is None


@extend_schema_field(OpenApiTypes.UUID)
class OrganizationBetriebsstaetteField(serializers.RelatedField):
    """A Betriebsstätte of the URL's organization, by its public id; any other id is a validation error."""

    default_error_messages = {
        "does_not_exist": _("There is no Betriebsstätte with this id in this organization."),
        "invalid": _("A Betriebsstätte id is a UUID."),
    }

    def get_queryset(self):
        organization = self.context["organization"]
        return Betriebsstaette.unscoped.filter(organization_id=organization.pk)

    def to_internal_value(self, data):
        try:
            public_id = uuid.UUID(str(data))
        except (TypeError, ValueError, AttributeError):
            self.fail("invalid")
        betriebsstaette = self.get_queryset().filter(public_id=public_id).first()
        if betriebsstaette is None:
            self.fail("does_not_exist")
        return betriebsstaette

    def to_representation(self, value):
        return str(value.public_id)


class OutletSerializer(AddressValidationMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    number = serializers.IntegerField(
        min_value=1, required=False, allow_null=True,
        help_text=_("Unique in the organization. Leave it out (or null) on creation for the next free number; "
                    "it can never change afterwards."),
    )
    betriebsstaette = OrganizationBetriebsstaetteField(
        required=False, allow_null=True, help_text=_("Id of a Betriebsstätte of the same organization."),
    )
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = Outlet
        fields = ["id", "number", "name", "betriebsstaette", *ADDRESS, "closed_on", "is_open", "created_at"]
        read_only_fields = ["closed_on", "created_at"]
        extra_kwargs = {"country": {"default": "DE"}}

    def get_is_open(self, obj) -> bool:
        return obj.closed_on is None

    def validate_number(self, value):
        if self.instance is not None and value != self.instance.number:
            # Its own code rather than E_VALIDATION (the service refuses it as well).
            message = str(_("The outlet number cannot be changed once it is set."))
            raise ApiError(400, "E_OUTLET_NUMBER_IMMUTABLE", message, {"number": [message]})
        return value


class CloseSerializer(serializers.Serializer):
    closed_on = serializers.DateField(required=False, help_text=_("Default: today. Not in the future."))

    def validate_closed_on(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError(
                _("The closing date cannot be in the future."), code="closed_on_in_future"
            )
        return value


class FindingObjectSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["organization", "betriebsstaette", "outlet"])
    id = serializers.UUIDField()
    name = serializers.CharField()


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Stable machine code, e.g. W_MISSING_TAX_NUMBER."))
    severity = serializers.ChoiceField(choices=["error", "warning"],
                                       help_text=_("Errors keep the master data incomplete; warnings do not."))
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    object = FindingObjectSerializer()


class DataCheckSerializer(serializers.Serializer):
    complete = serializers.BooleanField()
    findings = FindingSerializer(many=True)
