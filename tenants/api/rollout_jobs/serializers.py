"""Serializers of the rollout-job API. Ids are public UUIDs; the runner comes from the caller."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.api.contracts.serializers import OrganizationRefSerializer
from tenants.models import RolloutJob, RolloutJobItem

__all__ = [
    "ApplySerializer",
    "ItemSerializer",
    "JobSerializer",
    "TargetSerializer",
    "WebhookSerializer",
]


class TargetSerializer(serializers.Serializer):
    operator = serializers.CharField(max_length=100, help_text="The operator's id (UUID) or your external reference "
                                                               "(the one of its invitation).")
    variables = serializers.DictField(required=False, default=dict,
                                      help_text="Values of the template's variables for this operator (name: value); "
                                                "absent ones take their default.")


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="http(s) URL; receives a signed POST when the job completed.")
    secret = serializers.CharField(max_length=200, help_text="16 to 200 characters; the key of the HMAC-SHA256 "
                                                             "signature in `X-Kassenportal-Signature`.")


@extend_schema_field(TargetSerializer(many=True))
class TargetsField(serializers.ListField):
    """Checked item by item in the service (errors with paths ``/operators/<index>/…``)."""

    child = serializers.JSONField()


@extend_schema_field(WebhookSerializer)
class WebhookField(serializers.JSONField):
    pass


class ApplySerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="Template version (default: latest).")
    dry_run = serializers.BooleanField(required=False, default=False,
                                       help_text="Only plan: report per operator what would change.")
    operators = TargetsField(help_text="1 to 5000 operators, each named once.")
    webhook = WebhookField(required=False, allow_null=True)

    def validate_webhook(self, value):
        if value in (None, {}):
            return None
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("The webhook is an object with url and secret."))
        return value


class JobSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    organization = OrganizationRefSerializer(read_only=True)
    template = serializers.SerializerMethodField()
    progress = serializers.IntegerField(read_only=True, help_text="Per cent of the operators processed.")
    created_by = serializers.SerializerMethodField()
    webhook = serializers.SerializerMethodField()

    class Meta:
        model = RolloutJob
        fields = ["id", "organization", "template", "dry_run", "source", "state", "total", "done", "failed",
                  "progress", "error", "created_at", "created_by", "started_at", "finished_at", "webhook"]

    def get_template(self, obj) -> dict:
        version = obj.template_version
        return {"id": str(version.template.public_id), "name": version.template.name, "version": version.number}

    def get_created_by(self, obj) -> str | None:
        if obj.created_by is not None:
            return obj.created_by.full_name or obj.created_by.email
        if obj.created_by_api_key is not None:
            return obj.created_by_api_key.name
        return None

    def get_webhook(self, obj) -> dict | None:
        if not obj.webhook_url:
            return None
        return {"url": obj.webhook_url, "state": obj.webhook_state, "attempts": obj.webhook_attempts,
                "response": obj.webhook_response}


class ItemSerializer(serializers.ModelSerializer):
    operator = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    plan = serializers.JSONField(read_only=True)
    configuration_version = serializers.SerializerMethodField()

    class Meta:
        model = RolloutJobItem
        fields = ["position", "operator_ref", "operator", "variables", "state", "error", "plan",
                  "configuration_version", "queries", "finished_at"]

    def get_operator(self, obj) -> dict | None:
        if obj.operator is None:
            return None
        return {"id": str(obj.operator.public_id), "name": obj.operator.name}

    def get_error(self, obj) -> dict | None:
        if not obj.error_code:
            return None
        return {"code": obj.error_code, "message": obj.error_message, "errors": obj.errors}

    def get_configuration_version(self, obj) -> int | None:
        return obj.configuration_version.number if obj.configuration_version is not None else None
