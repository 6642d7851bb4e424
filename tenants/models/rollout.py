"""Rollout templates, their versions and sharing, and the jobs that apply them to operators.

- ``RolloutTemplate``: owned by a creator or dealer (``organization``); a creator shares it with
  dealers (``RolloutTemplateShare``), who may then apply (not change) it. Members only: the
  ``membership`` scope dimension of the owner or of a dealer it is shared with.
- ``RolloutTemplateVersion``: the template document (format in
  ``tenants.services.configuration.schema``), numbered 1, 2, … per template; append-only.
- ``RolloutJob``: one application of a template version to a list of operators, run by a Celery
  task; ``RolloutJobItem`` is one operator of it with its variables, plan, result and error.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from portal.tenancy import PartyScopedManager

__all__ = [
    "RolloutItemState",
    "RolloutJob",
    "RolloutJobItem",
    "RolloutJobSource",
    "RolloutJobState",
    "RolloutTemplate",
    "RolloutTemplateShare",
    "RolloutTemplateVersion",
    "WebhookState",
]


class RolloutTemplate(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="rollout_templates", verbose_name=_("owner"))
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    # Members of the owner, and members of the dealers it is shared with.
    objects = PartyScopedManager("organization", "shares__dealer", dimension="membership")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("rollout template")
        verbose_name_plural = _("rollout templates")
        ordering = ["name", "pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return self.name


class RolloutTemplateVersion(models.Model):
    template = models.ForeignKey(RolloutTemplate, on_delete=models.PROTECT, related_name="versions")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("owner"))
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("template"))
    digest = models.CharField(_("SHA-256 of the template"), max_length=64)
    note = models.CharField(_("change note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_by_api_key = models.ForeignKey("tenants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
                                           related_name="+")

    objects = PartyScopedManager("template__organization", "template__shares__dealer", dimension="membership")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("rollout template version")
        verbose_name_plural = _("rollout template versions")
        ordering = ["template", "-number"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="tenants_rollouttemplateversion_unique"),
        ]

    def __str__(self):
        return f"{self.template} v{self.number}"


class RolloutTemplateShare(models.Model):
    """A creator shares a template with one of its dealers (read and apply, never change)."""

    template = models.ForeignKey(RolloutTemplate, on_delete=models.CASCADE, related_name="shares")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("creator"))
    dealer = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="shared_templates",
                               verbose_name=_("dealer"))
    created_at = models.DateTimeField(_("shared at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = PartyScopedManager("organization", "dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("shared rollout template")
        verbose_name_plural = _("shared rollout templates")
        ordering = ["template", "dealer", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["template", "dealer"], name="tenants_rollouttemplateshare_unique"),
        ]

    def __str__(self):
        return f"{self.template} → {self.dealer}"


class RolloutJobState(models.TextChoices):
    PENDING = "PENDING", _("waiting")
    WORKING = "WORKING", _("running")
    COMPLETED = "COMPLETED", _("completed")
    ERROR = "ERROR", _("failed")


class RolloutJobSource(models.TextChoices):
    API = "api", _("API")
    PAGE = "page", _("page")
    CSV = "csv", _("CSV upload")


class WebhookState(models.TextChoices):
    NONE = "", _("no webhook")
    PENDING = "pending", _("to be sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class RolloutJob(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="rollout_jobs",
                                     verbose_name=_("run by"))
    template_version = models.ForeignKey(RolloutTemplateVersion, on_delete=models.PROTECT, related_name="jobs",
                                         verbose_name=_("template version"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    source = models.CharField(_("started from"), max_length=8, choices=RolloutJobSource.choices,
                              default=RolloutJobSource.API)
    state = models.CharField(_("state"), max_length=10, choices=RolloutJobState.choices,
                             default=RolloutJobState.PENDING)
    total = models.PositiveIntegerField(_("operators"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_by_api_key = models.ForeignKey("tenants.ApiKey", on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+")
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    webhook_secret = models.BinaryField(_("webhook secret (encrypted)"), null=True, blank=True, editable=False)
    webhook_state = models.CharField(_("webhook"), max_length=10, choices=WebhookState.choices, blank=True,
                                     default=WebhookState.NONE)
    webhook_attempts = models.PositiveSmallIntegerField(_("webhook attempts"), default=0)
    webhook_response = models.CharField(_("webhook response"), max_length=200, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("rollout job")
        verbose_name_plural = _("rollout jobs")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.template_version} ({self.get_state_display()})"

    @property
    def progress(self) -> int:
        """Per cent of the operators processed."""
        return 100 if not self.total else int(100 * (self.done + self.failed) / self.total)


class RolloutItemState(models.TextChoices):
    PENDING = "PENDING", _("waiting")
    APPLIED = "APPLIED", _("applied")
    UNCHANGED = "UNCHANGED", _("nothing to change")
    PLANNED = "PLANNED", _("planned (dry run)")
    FAILED = "FAILED", _("failed")


class RolloutJobItem(models.Model):
    job = models.ForeignKey(RolloutJob, on_delete=models.PROTECT, related_name="items")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("run by"))
    position = models.PositiveIntegerField(_("position"))
    operator_ref = models.CharField(_("operator (as given)"), max_length=100)
    operator = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("operator"))
    variables = models.JSONField(_("variables"), default=dict)
    state = models.CharField(_("state"), max_length=10, choices=RolloutItemState.choices,
                             default=RolloutItemState.PENDING)
    plan = models.JSONField(_("plan"), default=list)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    errors = models.JSONField(_("error details"), default=list)
    configuration_version = models.ForeignKey("tenants.ConfigurationVersion", on_delete=models.PROTECT, null=True,
                                              blank=True, related_name="+")
    queries = models.PositiveIntegerField(_("SQL queries"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("rollout job operator")
        verbose_name_plural = _("rollout job operators")
        ordering = ["job", "position"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="tenants_rolloutjobitem_unique"),
        ]

    def __str__(self):
        return f"{self.job_id}#{self.position} {self.operator_ref}"
