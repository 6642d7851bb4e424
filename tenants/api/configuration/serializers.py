"""Serializers of the configuration API: the current document, its versions and the result of an import."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.api.contracts.serializers import OrganizationRefSerializer, UserRefSerializer
from tenants.models import ConfigurationSource, ConfigurationVersion

__all__ = [
    "ApiKeyRefSerializer",
    "ApplyResultSerializer",
    "ConfigurationSerializer",
    "ConfigurationVersionDetailSerializer",
    "ConfigurationVersionSerializer",
    "PLAN_ACTIONS",
    "PLAN_OBJECTS",
    "PlanStepSerializer",
]

PLAN_ACTIONS = ["create", "update", "activate", "initialize", "register"]
PLAN_OBJECTS = ["betriebsstaette", "outlet", "signing_unit", "entitlement", "client", "cash_register"]


class ConfigurationSerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text=_("The number of the latest recorded version."))
    digest = serializers.CharField(help_text=_("SHA-256 of the document without its operator key."))
    document = serializers.JSONField(help_text=_("The configuration, format kassenportal.configuration/1."))


class PlanStepSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=PLAN_ACTIONS)
    object = serializers.ChoiceField(choices=PLAN_OBJECTS)
    path = serializers.CharField(help_text=_("JSON pointer into the document."))
    label = serializers.CharField()
    changes = serializers.DictField(child=serializers.JSONField(), help_text=_("field → {old, new}"))


class ApplyResultSerializer(serializers.Serializer):
    changed = serializers.BooleanField()
    plan = PlanStepSerializer(many=True)
    version = serializers.IntegerField(allow_null=True, help_text=_("The version stored by this import, if any."))
    dry_run = serializers.BooleanField()


class ApiKeyRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    prefix = serializers.CharField()


class ConfigurationVersionSerializer(serializers.ModelSerializer):
    user = UserRefSerializer(source="actor_user", read_only=True, allow_null=True)
    api_key = ApiKeyRefSerializer(source="actor_api_key", read_only=True, allow_null=True)
    acting_organization = OrganizationRefSerializer(
        read_only=True, allow_null=True,
        help_text=_("The dealer organization that made the change on behalf of the operator, if any."))
    source = serializers.ChoiceField(choices=ConfigurationSource.choices, read_only=True)
    rollout_job_id = serializers.SerializerMethodField()
    change_count = serializers.SerializerMethodField()

    class Meta:
        model = ConfigurationVersion
        fields = ["number", "created_at", "source", "summary", "digest", "user", "api_key", "acting_organization",
                  "rollout_job_id", "change_count"]
        read_only_fields = fields

    def get_rollout_job_id(self, obj) -> str | None:
        return str(obj.rollout_job.public_id) if obj.rollout_job is not None else None

    def get_change_count(self, obj) -> int:
        return len(obj.changes or [])


class DiffEntrySerializer(serializers.Serializer):
    """One entry of a keyed diff (``tenants.services.configuration.diff``), of configurations or templates."""

    op = serializers.ChoiceField(choices=["added", "removed", "changed"])
    path = serializers.CharField()
    object = serializers.CharField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class ConfigurationVersionDetailSerializer(ConfigurationVersionSerializer):
    document = serializers.JSONField(read_only=True)
    against = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta(ConfigurationVersionSerializer.Meta):
        fields = [*ConfigurationVersionSerializer.Meta.fields, "against", "changes", "document"]
        read_only_fields = fields

    def get_against(self, obj) -> int | None:
        return self.context.get("against")

    @extend_schema_field(DiffEntrySerializer(many=True))
    def get_changes(self, obj):
        changes = self.context.get("changes")
        return obj.changes if changes is None else changes
