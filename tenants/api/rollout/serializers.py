"""Serializers of the rollout-template API. Ids are public UUIDs; the owner comes from the URL."""

from rest_framework import serializers

from tenants.api.contracts.serializers import OrganizationRefSerializer
from tenants.models import RolloutTemplate, RolloutTemplateShare, RolloutTemplateVersion
from tenants.services.rollout.templates import NAME_MAX, NOTE_MAX

__all__ = [
    "ShareSerializer",
    "TemplateCreateSerializer",
    "TemplateSerializer",
    "TemplateUpdateSerializer",
    "VersionCreateSerializer",
    "VersionDetailSerializer",
    "VersionSerializer",
]


def _person(user, api_key) -> str | None:
    if user is not None:
        return user.full_name or user.email
    if api_key is not None:
        return api_key.name
    return None


class VersionSerializer(serializers.ModelSerializer):
    template_id = serializers.UUIDField(source="template.public_id", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = RolloutTemplateVersion
        fields = ["template_id", "number", "digest", "note", "created_at", "created_by"]

    def get_created_by(self, obj) -> str | None:
        return _person(obj.created_by, obj.created_by_api_key)


class VersionDetailSerializer(VersionSerializer):
    document = serializers.JSONField()

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "document"]


class TemplateSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    owner = OrganizationRefSerializer(source="organization", read_only=True)
    latest_version = serializers.SerializerMethodField()
    variables = serializers.SerializerMethodField()

    class Meta:
        model = RolloutTemplate
        fields = ["id", "owner", "name", "description", "created_at", "archived_at", "latest_version", "variables"]

    def _latest(self, obj):
        versions = getattr(obj, "latest", None)
        return versions[0] if versions else None

    def get_latest_version(self, obj) -> VersionSerializer:
        latest = self._latest(obj)
        return VersionSerializer(latest).data if latest is not None else None

    def get_variables(self, obj) -> dict:
        latest = self._latest(obj)
        variables = latest.document.get("variables") if latest is not None else None
        return variables if isinstance(variables, dict) else {}


class TemplateCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    document = serializers.JSONField(help_text="The template document (format kassenportal.rollout-template/1).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX, default="")


class TemplateUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=NAME_MAX)
    description = serializers.CharField(required=False, allow_blank=True)
    archived = serializers.BooleanField(required=False, help_text="true archives the template (irreversible).")


class VersionCreateSerializer(serializers.Serializer):
    document = serializers.JSONField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX, default="")




class ShareSerializer(serializers.ModelSerializer):
    template_id = serializers.UUIDField(source="template.public_id", read_only=True)
    dealer = OrganizationRefSerializer(read_only=True)

    class Meta:
        model = RolloutTemplateShare
        fields = ["template_id", "dealer", "created_at"]
