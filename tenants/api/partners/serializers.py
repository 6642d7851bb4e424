"""Serializers of the partners API: operator invitations, CSV import reports, the operator overview,
link requests, dealers and rights."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.models import AccessRight, DealerLink, InvitationImport, LegalForm, LinkStatus, OperatorInvitation

__all__ = [
    "DealerLinkRequestCreateSerializer",
    "DealerRelationSerializer",
    "ImportUploadSerializer",
    "InvitationImportSerializer",
    "InvitationPreviewSerializer",
    "LinkRequestSerializer",
    "OperatorInvitationCreateSerializer",
    "OperatorInvitationSerializer",
    "OverviewRowSerializer",
    "RightsSerializer",
]

# inline (not an enum component): "status" names several choice sets across the API
@extend_schema_field({"type": "string", "description": "One of: requested (by the operator), active, ended."})
class LinkStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=LinkStatus.choices, **kwargs)


class PartnerOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class OperatorInvitationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=["open", "accepted", "revoked", "expired"], read_only=True)
    registered = serializers.SerializerMethodField()
    operator = serializers.SerializerMethodField()
    import_id = serializers.SerializerMethodField()

    class Meta:
        model = OperatorInvitation
        fields = [
            "id", "status", "registered", "company_name", "legal_form", "street", "postal_code", "city", "country",
            "vat_id", "contact_first_name", "contact_last_name", "contact_email", "phone", "external_reference",
            "personal_message", "requested_rights", "created_at", "expires_at", "sent_count", "last_sent_at",
            "revoked_at", "accepted_at", "operator", "import_id",
        ]
        read_only_fields = fields

    def get_registered(self, obj) -> bool:
        return obj.operator_id is not None

    def get_operator(self, obj) -> str | None:
        """Public id of the operator organization once it registered (null before)."""
        return str(obj.operator.public_id) if obj.operator_id else None

    def get_import_id(self, obj) -> str | None:
        return str(obj.import_batch.public_id) if obj.import_batch_id else None


class OperatorInvitationCreateSerializer(serializers.Serializer):
    """Mandatory fields per the operator data of a dealer (domain reference §5.1)."""

    company_name = serializers.CharField(max_length=200)
    legal_form = serializers.ChoiceField(choices=LegalForm.choices, required=False, allow_blank=True)
    street = serializers.CharField(max_length=200)
    postal_code = serializers.CharField(max_length=10)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2, e.g. DE"))
    vat_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    contact_first_name = serializers.CharField(max_length=100)
    contact_last_name = serializers.CharField(max_length=100)
    contact_email = serializers.EmailField(help_text=_("Receives the invitation; becomes the operator's login."))
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    external_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    personal_message = serializers.CharField(max_length=400, required=False, allow_blank=True)
    rights = serializers.ListField(
        child=serializers.ChoiceField(choices=AccessRight.choices), required=False,
        help_text=_("The access rights asked for; default: read."),
    )


class ImportReportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("Row number in the file; the header is row 1."))
    status = serializers.ChoiceField(choices=["imported", "already_invited", "failed"])
    email = serializers.CharField()
    company_name = serializers.CharField()
    invitation = serializers.UUIDField(required=False)
    message = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class InvitationImportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    already_invited_rows = serializers.IntegerField(source="skipped_rows", read_only=True)
    report = ImportReportRowSerializer(many=True, read_only=True)

    class Meta:
        model = InvitationImport
        fields = ["id", "filename", "sha256", "total_rows", "imported_rows", "already_invited_rows", "failed_rows",
                  "report", "created_at"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The CSV file (UTF-8, ; or , separated, header row)."))
    rights = serializers.CharField(required=False, allow_blank=True,
                                   help_text=_("Rights to ask for where a row has none, e.g. \"read configure\"."))


class ProgressSerializer(serializers.Serializer):
    invited = serializers.BooleanField()
    registered = serializers.BooleanField()
    agreement_signed = serializers.BooleanField()
    rights_granted = serializers.BooleanField()
    master_data_complete = serializers.BooleanField()


class OverviewRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["link", "invitation"])
    id = serializers.UUIDField(help_text=_("Id of the link or of the invitation (see kind)."))
    invitation_id = serializers.UUIDField(allow_null=True)
    operator_id = serializers.SerializerMethodField()
    company_name = serializers.CharField()
    email = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=["invited", "registered", "expired", "requested", "active", "ended"])
    progress = serializers.SerializerMethodField()
    rights = serializers.ListField(child=serializers.CharField())
    account_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_operator_id(self, row) -> str | None:
        return str(row.operator.public_id) if row.operator is not None else None

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, row) -> dict:
        return {key: done for key, _label, done in row.steps}

    def get_account_url(self, row) -> str | None:
        """The operator's account page, for operators that granted the dealer any right (each includes viewing)."""
        return f"/o/{row.operator.public_id}/" if row.can_open_account else None


class LinkRequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = LinkStatusField(read_only=True)
    operator = PartnerOrganizationSerializer(source="organization", read_only=True)

    class Meta:
        model = DealerLink
        fields = ["id", "operator", "status", "requested_at", "activated_at", "ended_at"]
        read_only_fields = fields


class OwnLinkRequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = LinkStatusField(read_only=True)
    dealer = PartnerOrganizationSerializer(read_only=True)

    class Meta:
        model = DealerLink
        fields = ["id", "dealer", "status", "requested_at", "activated_at", "ended_at"]
        read_only_fields = fields


class LinkSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = LinkStatusField(read_only=True)

    class Meta:
        model = DealerLink
        fields = ["id", "status", "requested_at", "activated_at"]
        read_only_fields = fields


class DealerRelationSerializer(serializers.Serializer):
    dealer = PartnerOrganizationSerializer()
    status = serializers.ChoiceField(choices=["requested", "active", "unlinked"],
                                     help_text=_("unlinked: rights granted without a link (revoke them)."))
    link = LinkSummarySerializer(allow_null=True)
    rights = serializers.ListField(child=serializers.ChoiceField(choices=AccessRight.choices))


class RightsSerializer(serializers.Serializer):
    rights = serializers.ListField(child=serializers.ChoiceField(choices=AccessRight.choices), allow_empty=True)


class DealerLinkRequestCreateSerializer(serializers.Serializer):
    dealer_id = serializers.UUIDField(required=False, help_text=_("The dealer's public id."))
    email = serializers.EmailField(required=False, help_text=_("The exact e-mail address of a dealer's member."))

    def validate(self, attrs):
        if not attrs.get("dealer_id") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"dealer_id": [_("Give dealer_id or email.")]}, code="required")
        return attrs


class InvitationPreviewSerializer(serializers.Serializer):
    dealer = PartnerOrganizationSerializer(source="organization")
    company_name = serializers.CharField()
    contact_email = serializers.EmailField()
    requested_rights = serializers.ListField(child=serializers.CharField())
    personal_message = serializers.CharField()
    expires_at = serializers.DateTimeField()
    registered = serializers.SerializerMethodField()

    def get_registered(self, obj) -> bool:
        return obj.operator_id is not None
