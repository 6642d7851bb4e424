"""Serializers of the contracts API: contract versions and texts, role states, signature evidence,
framework contracts, and the typed-name signature requests."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.models import ContractKind, ContractSignature, RoleKind, RoleStatus, SignatureAction
from tenants.services.contracts import LANGUAGES, ROLE_FOR_CONTRACT, RoleState, contract_text, text_sha256
from tenants.services.framework_contracts import (
    FRAMEWORK_STATES,
    framework_document,
    framework_state,
    framework_text_sha256,
    tiers_of,
)

__all__ = [
    "ContractVersionSerializer",
    "CountersignRequestSerializer",
    "FrameworkContractSerializer",
    "RoleApplySerializer",
    "RoleStateSerializer",
    "SignContractRequestSerializer",
    "SignatureSerializer",
    "version_data",
]



ROLE_STATES = [RoleState.ACTIVE, RoleState.NEEDS_SIGNATURE, RoleState.RESIGN_REQUIRED, RoleState.TERMINATED,
               RoleState.NO_CONTRACT]


# --- contract versions -----------------------------------------------------------------------


class ContractTextSerializer(serializers.Serializer):
    title = serializers.CharField()
    text = serializers.CharField()
    text_sha256 = serializers.CharField(
        help_text=_("SHA-256 (hex) of title + two newlines + text, UTF-8. Send it back when signing.")
    )


class ContractTextsSerializer(serializers.Serializer):
    de = ContractTextSerializer()
    en = ContractTextSerializer()


class ContractVersionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    contract = serializers.ChoiceField(choices=ContractKind.choices)
    role_kind = serializers.ChoiceField(choices=RoleKind.choices, help_text=_("The role this contract activates."))
    version = serializers.IntegerField()
    requires_resign = serializers.BooleanField(
        help_text=_("Organizations that signed an older version must sign this one to keep the role active.")
    )
    published_at = serializers.DateTimeField()
    texts = ContractTextsSerializer()


def version_data(version) -> dict:
    texts = {}
    for language in LANGUAGES:
        title, text = contract_text(version, language)
        texts[language] = {"title": title, "text": text, "text_sha256": text_sha256(version, language)}
    return {
        "id": version.public_id,
        "contract": version.kind,
        "role_kind": ROLE_FOR_CONTRACT[version.kind],
        "version": version.version,
        "requires_resign": version.requires_resign,
        "published_at": version.published_at,
        "texts": texts,
    }


# --- signatures ------------------------------------------------------------------------------


class UserRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class SignatureSerializer(serializers.ModelSerializer):
    """The stored evidence of one signature or signed termination."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    organization = serializers.UUIDField(source="organization.public_id", read_only=True)
    contract = serializers.ChoiceField(choices=ContractKind.choices, source="contract_version.kind", read_only=True)
    version = serializers.IntegerField(source="contract_version.version", read_only=True)
    action = serializers.ChoiceField(choices=SignatureAction.choices, read_only=True)
    user = UserRefSerializer(read_only=True)
    acting_organization = OrganizationRefSerializer(
        read_only=True, allow_null=True,
        help_text=_("The dealer organization whose user signed on behalf of this organization, if any."),
    )

    class Meta:
        model = ContractSignature
        fields = ["id", "organization", "contract", "version", "action", "language", "text_sha256", "typed_name",
                  "user", "acting_organization", "signed_at", "ip_address", "user_agent"]
        read_only_fields = fields


class SignatureSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    version = serializers.IntegerField(source="contract_version.version")
    action = serializers.ChoiceField(choices=SignatureAction.choices)
    typed_name = serializers.CharField()
    signed_at = serializers.DateTimeField()
    acting_organization = OrganizationRefSerializer(allow_null=True)


class VersionRefSerializer(serializers.Serializer):
    contract = serializers.ChoiceField(choices=ContractKind.choices)
    version = serializers.IntegerField()
    requires_resign = serializers.BooleanField()
    text_sha256 = serializers.DictField(child=serializers.CharField(), help_text=_("Per language (de, en)."))


class RoleStateSerializer(serializers.Serializer):
    role_kind = serializers.ChoiceField(choices=RoleKind.choices)
    held = serializers.BooleanField(help_text=_("The organization holds or has applied for this role."))
    status = serializers.ChoiceField(choices=RoleStatus.choices, allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(
        choices=ROLE_STATES,
        help_text=_("active, needs_signature (never signed), resign_required (a newer version must be signed), "
                    "terminated, no_contract (no version published)."),
    )
    needs_signature = serializers.BooleanField()
    current_version = VersionRefSerializer(allow_null=True)
    signature = SignatureSummarySerializer(
        allow_null=True, help_text=_("The signature the role rests on (the last one, unless terminated).")
    )

    def to_representation(self, state):
        version = state.version
        return super().to_representation({
            "role_kind": state.kind,
            "held": state.held,
            "status": state.status,
            "activated_at": state.role.activated_at if state.role is not None else None,
            "state": state.state,
            "needs_signature": state.needs_signature,
            "current_version": None if version is None else {
                "contract": version.kind, "version": version.version, "requires_resign": version.requires_resign,
                "text_sha256": {language: text_sha256(version, language) for language in LANGUAGES},
            },
            "signature": state.signature,
        })


class RoleApplySerializer(serializers.Serializer):
    role_kind = serializers.ChoiceField(choices=RoleKind.choices)


class SignContractRequestSerializer(serializers.Serializer):
    typed_name = serializers.CharField(
        max_length=200, allow_blank=True, help_text=_("The signer's full name, as stored in their account.")
    )
    language = serializers.CharField(max_length=8, help_text=_("Language of the text shown: de or en."))
    text_sha256 = serializers.CharField(
        max_length=128, help_text=_("SHA-256 of the text shown, as returned by GET contracts.")
    )
    consent = serializers.BooleanField(
        default=False, help_text=_("The signer read the contract and accepts it; must be true.")
    )


# --- framework contracts ---------------------------------------------------------------------


class DiscountTierSerializer(serializers.Serializer):
    min_units = serializers.IntegerField(help_text=_("From this many signing units on …"))
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, help_text=_("… this discount in percent."))


class CountersignatureSerializer(serializers.Serializer):
    typed_name = serializers.CharField(source="countersign_name")
    user = UserRefSerializer(source="countersigned_by")
    signed_at = serializers.DateTimeField(source="countersigned_at")
    text_sha256 = serializers.CharField(source="countersign_sha256")
    ip_address = serializers.IPAddressField(source="countersign_ip", allow_null=True)
    user_agent = serializers.CharField(source="countersign_user_agent")


class FrameworkContractSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    organization = serializers.UUIDField(source="organization.public_id")
    title = serializers.CharField()
    text = serializers.CharField()
    planned_volume = serializers.IntegerField(help_text=_("Planned signing units over the term."))
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(help_text=_("Last day of the term (inclusive)."))
    credit_limit = serializers.DecimalField(max_digits=12, decimal_places=2, help_text=_("EUR"))
    tiers = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField(
        help_text=_("awaiting (countersignature), signed (starts later), in_force, ended, expired (never "
                    "countersigned).")
    )
    document = serializers.SerializerMethodField(
        help_text=_("Exactly the text the dealer countersigns: title, text and terms.")
    )
    text_sha256 = serializers.SerializerMethodField(help_text=_("SHA-256 of `document`; send it when countersigning."))
    countersignature = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(DiscountTierSerializer(many=True))
    def get_tiers(self, contract):
        return DiscountTierSerializer(tiers_of(contract), many=True).data

    @extend_schema_field(serializers.ChoiceField(choices=FRAMEWORK_STATES))
    def get_state(self, contract):
        return framework_state(contract)

    def get_document(self, contract) -> str:
        return framework_document(contract)

    def get_text_sha256(self, contract) -> str:
        return framework_text_sha256(contract)

    @extend_schema_field(CountersignatureSerializer(allow_null=True))
    def get_countersignature(self, contract):
        if contract.countersigned_at is None:
            return None
        return CountersignatureSerializer(contract).data


class CountersignRequestSerializer(serializers.Serializer):
    typed_name = serializers.CharField(
        max_length=200, allow_blank=True, help_text=_("The signer's full name, as stored in their account.")
    )
    text_sha256 = serializers.CharField(max_length=128, help_text=_("SHA-256 of the document shown."))
    consent = serializers.BooleanField(default=False)
