"""Serializers of the POS systems API. Public ids only; the creator is set by the server."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenants.models import PosSystem, PosSystemDealer, PosSystemType, PosSystemVersion
from tenants.services.pos_systems import MASTER_DATA_MAX_LENGTH

__all__ = [
    "DealerInvitationSentSerializer",
    "DealerShareCreateSerializer",
    "DealerShareSerializer",
    "PosSystemCreateSerializer",
    "PosSystemSerializer",
    "PosSystemUpdateSerializer",
    "PosSystemVersionCreateSerializer",
    "PosSystemVersionSerializer",
    "RetiredFilterSerializer",
]


class OrganizationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = serializers.CharField(read_only=True)


class PosSystemVersionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = PosSystemVersion
        fields = ["id", "software_name", "software_version", "released_on", "created_at"]
        read_only_fields = fields


class PosSystemSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True,
                               help_text=_("The immutable POS system id (PosSystemId)."))
    creator = OrganizationSummarySerializer(source="organization", read_only=True)
    is_retired = serializers.SerializerMethodField()
    versions = PosSystemVersionSerializer(many=True, read_only=True, help_text=_("Newest first."))

    class Meta:
        model = PosSystem
        fields = ["id", "creator", "name", "brand", "model", "system_type", "description", "versions", "created_at",
                  "retired_at", "is_retired"]
        read_only_fields = fields

    def get_is_retired(self, obj) -> bool:
        return obj.retired_at is not None


def _master_data_field(label, help_text=None, **kwargs):
    return serializers.CharField(max_length=MASTER_DATA_MAX_LENGTH, label=label, help_text=help_text, **kwargs)


class PosSystemUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    brand = _master_data_field(_("Brand / manufacturer"), _("DSFinV-K KASSE_BRAND; Hersteller in the § 146a(4) AO "
                                                            "notification."))
    model = _master_data_field(_("Model"), _("DSFinV-K KASSE_MODELL; Modell in the § 146a(4) AO notification."))
    system_type = serializers.ChoiceField(choices=PosSystemType.choices,
                                          help_text=_("Art des eAs (§ 146a(4) AO notification)."))
    description = serializers.CharField(allow_blank=True, required=False, default="")


class PosSystemCreateSerializer(PosSystemUpdateSerializer):
    software_name = _master_data_field(_("Software name"), _("DSFinV-K KASSE_SW_BRAND of the first version."))
    software_version = _master_data_field(_("Software version"), _("DSFinV-K KASSE_SW_VERSION of the first version."))
    released_on = serializers.DateField(required=False, allow_null=True, default=None)


class PosSystemVersionCreateSerializer(serializers.Serializer):
    software_version = _master_data_field(_("Software version"), _("DSFinV-K KASSE_SW_VERSION; unique per system."))
    software_name = _master_data_field(_("Software name"), _("Defaults to the name of the latest version."),
                                       required=False, allow_blank=True, default="")
    released_on = serializers.DateField(required=False, allow_null=True, default=None)


class DealerShareSerializer(serializers.ModelSerializer):
    dealer = OrganizationSummarySerializer(read_only=True)
    shared_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = PosSystemDealer
        fields = ["dealer", "shared_at"]
        read_only_fields = fields


class DealerShareCreateSerializer(serializers.Serializer):
    dealer_id = serializers.UUIDField(required=False, help_text=_("Public id of the dealer organization."))
    email = serializers.EmailField(required=False, help_text=_(
        "E-mail address of a member of the dealer organization. Without such a dealer an invitation to register "
        "is sent (202) and nothing is stored."))

    def validate(self, attrs):
        if ("dealer_id" in attrs) == ("email" in attrs):
            raise serializers.ValidationError(_("Give either dealer_id or email."), code="dealer_or_email")
        return attrs


class DealerInvitationSentSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["invitation_sent"])
    email = serializers.EmailField()
    message = serializers.CharField()


class RetiredFilterSerializer(serializers.Serializer):
    retired = serializers.BooleanField(required=False, allow_null=True, default=None)
