"""Rollout jobs: apply one template version to many operators, asynchronously, one operator at a time.

``start_job`` checks the runner (the template's owner or a dealer it is shared with; the actor a member
with ``configure``), the targets (1..5000, no operator twice) and the webhook, then stores the job and its
items (positions 1..n in the order given) in one transaction and enqueues ``tenants.rollout.run_job``
once it committed.

``run_job`` (the task; jobs above ``CHUNK_SIZE`` operators are split into chunk tasks of ``CHUNK_SIZE``
so that several workers share them) processes each pending item in its own transaction:

1. resolve the operator — a UUID is an organization's public id, anything else the runner's external
   reference (``DealerLink(dealer=runner, active).invitation.external_reference``); an operator that did
   not grant the runner any right is treated exactly like an unknown one (``E_OPERATOR_NOT_FOUND``);
2. rebuild the actor from the job's creator *now* (membership, API key and the operator's grants to the
   runner as they are at this moment), so a right revoked meanwhile is honoured; the actor acts through
   the runner's grants only, so the runner is the acting organization (and its stock is used);
3. render the template with the item's variables and the system variables, and apply the rendered
   document inside the actor's tenant scope (``dry_run`` plans only);
4. store the plan, the outcome (``APPLIED``/``UNCHANGED``/``PLANNED``/``FAILED`` with code, message and
   path errors), the configuration version, the number of SQL queries of the item and ``finished_at``,
   and count it in the job (``F()`` updates: pollers see the progress live).

The item row is locked and re-checked first, and the whole item (apply + result) commits together, so a
redelivered or re-run task skips finished items and never applies one twice; a crash rolls the item back
to pending. The chunk that finishes the last item completes the job (one conditional UPDATE) and enqueues
the webhook. Failures are per operator: the job is ``COMPLETED`` even when items failed.
"""

import logging
import uuid

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope

from portal import crypto
from portal.celery import enqueue
from portal.services.audit import log_action, register_action_labels
from portal.tenancy import Actor
from tenants.models import (
    AccessGrant,
    ApiKey,
    DealerLink,
    LinkStatus,
    Membership,
    Organization,
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobSource,
    RolloutJobState,
    RolloutTemplateShare,
    User,
    WebhookState,
)
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout.webhooks import SECRET_PURPOSE as WEBHOOK_SECRET_PURPOSE

__all__ = [
    "CHUNK_SIZE",
    "MAX_TARGETS",
    "WEBHOOK_SECRET_PURPOSE",
    "dispatch_job",
    "run_chunk",
    "run_job",
    "start_job",
]

logger = logging.getLogger("tenants.rollout")

MAX_TARGETS = 5000
CHUNK_SIZE = 50
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
MAX_REFERENCE_LENGTH = 100
FINISHED_ITEM = {RolloutItemState.APPLIED, RolloutItemState.UNCHANGED, RolloutItemState.PLANNED,
                 RolloutItemState.FAILED}

register_action_labels({
    "tenants.rollout.job_started": gettext_lazy("Rollout started"),
    "tenants.rollout.job_completed": gettext_lazy("Rollout completed"),
})


def _error(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": str(message)}


# --- starting ---------------------------------------------------------------------------------------


def start_job(*, actor, organization, template_version, targets, dry_run=False, source=RolloutJobSource.API,
              webhook_url=None, webhook_secret=None) -> RolloutJob:
    """Create the job of applying ``template_version`` to ``targets`` as ``organization`` and enqueue it.

    ``targets``: ``[{"operator": "<uuid or external reference>", "variables": {...}}, ...]``. Raises
    ``ConfigurationError`` (403 ``E_PERMISSION_DENIED``, 404 ``E_NOT_FOUND``, 409 ``E_TEMPLATE_ARCHIVED``,
    400 ``E_VALIDATION`` / ``E_DUPLICATE_OPERATOR`` with paths ``/operators/<index>/…``, ``/webhook/…``).
    """
    template = template_version.template
    _check_runner(actor, organization, template)
    if source not in RolloutJobSource.values:
        raise ConfigurationError(400, "E_VALIDATION", _("Unknown source “{source}”.").format(source=source))
    rows = _clean_targets(organization, targets)
    url, secret = _clean_webhook(webhook_url, webhook_secret)
    with transaction.atomic():
        job = RolloutJob.unscoped.create(
            organization=organization, template_version=template_version, dry_run=bool(dry_run), source=source,
            total=len(rows), created_by=actor.user if actor.api_key is None else None,
            created_by_api_key=actor.api_key, webhook_url=url,
            webhook_secret=crypto.encrypt(secret.encode(), WEBHOOK_SECRET_PURPOSE) if url else None,
            webhook_state=WebhookState.PENDING if url else WebhookState.NONE)
        RolloutJobItem.unscoped.bulk_create([
            RolloutJobItem(job=job, organization=organization, position=position, operator_ref=row["operator"],
                           variables=row["variables"])
            for position, row in enumerate(rows, start=1)], batch_size=1000)
        log_action("tenants.rollout.job_started", actor, organization, job,
                   {"template": str(template.public_id), "version": template_version.number,
                    "operators": len(rows), "dry_run": bool(dry_run), "source": source})
        from tenants.tasks.rollout import run_job_task

        enqueue(run_job_task, organization_id=organization.pk, job_id=job.pk)
    return job


def _check_runner(actor, organization, template) -> None:
    if organization.pk not in actor.member_roles:
        raise ConfigurationError(404, "E_NOT_FOUND", _("Not found."))
    if template.organization_id != organization.pk and not RolloutTemplateShare.unscoped.filter(
            template=template, dealer=organization).exists():
        raise ConfigurationError(404, "E_NOT_FOUND", _("Not found."))
    if not actor.can(organization.pk, "configure"):
        raise ConfigurationError(403, "E_PERMISSION_DENIED",
                                 _("Applying a template needs the right to configure in this organization."))
    if template.archived_at is not None:
        raise ConfigurationError(409, "E_TEMPLATE_ARCHIVED", _("This template is archived."))


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _clean_targets(runner, targets) -> list[dict]:
    if not isinstance(targets, list | tuple) or not targets:
        raise ConfigurationError(400, "E_VALIDATION", _("Name at least one operator."),
                                 errors=[_error("/operators", "E_REQUIRED", _("Name at least one operator."))])
    if len(targets) > MAX_TARGETS:
        message = _("At most {count} operators per job.").format(count=MAX_TARGETS)
        raise ConfigurationError(400, "E_VALIDATION", message,
                                 errors=[_error("/operators", "E_TOO_MANY", message)])
    rows, errors = [], []
    for index, target in enumerate(targets):
        path = f"/operators/{index}"
        if not isinstance(target, dict):
            errors.append(_error(path, "E_TYPE", _("Each operator is an object with “operator” and “variables”.")))
            continue
        operator = target.get("operator")
        operator = str(operator).strip() if isinstance(operator, str | uuid.UUID) else ""
        variables = target.get("variables")
        variables = {} if variables is None else variables
        if not operator:
            errors.append(_error(f"{path}/operator", "E_REQUIRED", _("Name the operator (id or your reference).")))
        elif len(operator) > MAX_REFERENCE_LENGTH:
            errors.append(_error(f"{path}/operator", "E_TOO_LONG",
                                 _("At most {count} characters.").format(count=MAX_REFERENCE_LENGTH)))
        if not isinstance(variables, dict):
            errors.append(_error(f"{path}/variables", "E_TYPE", _("The variables are an object of name: value.")))
        elif any(not isinstance(name, str) for name in variables):
            errors.append(_error(f"{path}/variables", "E_TYPE", _("Variable names are strings.")))
        rows.append({"operator": operator, "variables": variables if isinstance(variables, dict) else {}})
    if errors:
        raise ConfigurationError(400, "E_VALIDATION", _("Some operators are not valid."), errors=errors)
    duplicates = _duplicates(runner, rows)
    if duplicates:
        raise ConfigurationError(400, "E_DUPLICATE_OPERATOR", _("An operator is named more than once."),
                                 errors=duplicates)
    return rows


def _duplicates(runner, rows) -> list[dict]:
    """Rows naming an operator named before (by the same id or reference, or by its id and its reference)."""
    ids = {_as_uuid(row["operator"]) for row in rows} - {None}
    by_id = dict(Organization.unscoped.filter(public_id__in=ids).values_list("public_id", "pk")) if ids else {}
    references = {row["operator"] for row in rows if _as_uuid(row["operator"]) is None}
    by_reference: dict[str, set[int]] = {}
    if references:
        for reference, operator_id in DealerLink.unscoped.filter(
                dealer=runner, status=LinkStatus.ACTIVE,
                invitation__external_reference__in=references).values_list("invitation__external_reference",
                                                                           "organization_id"):
            by_reference.setdefault(reference, set()).add(operator_id)
    seen: dict[object, int] = {}
    errors = []
    for index, row in enumerate(rows):
        given = _as_uuid(row["operator"])
        if given is not None:
            key = ("org", by_id[given]) if given in by_id else ("id", given)
        else:
            found = by_reference.get(row["operator"], set())
            key = ("org", next(iter(found))) if len(found) == 1 else ("ref", row["operator"])
        if key in seen:
            errors.append({**_error(f"/operators/{index}/operator", "E_DUPLICATE_OPERATOR",
                                    _("The same operator as at position {first}.").format(first=seen[key])),
                           "position": index, "first_position": seen[key]})
        else:
            seen[key] = index
    return errors


def _clean_webhook(url, secret) -> tuple[str, str]:
    url = (url or "").strip()
    secret = secret or ""
    if not url:
        if secret:
            raise ConfigurationError(400, "E_VALIDATION", _("A webhook secret needs a webhook URL."),
                                     errors=[_error("/webhook/url", "E_REQUIRED", _("Give the webhook URL."))])
        return "", ""
    from urllib.parse import urlsplit

    errors = []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        errors.append(_error("/webhook/url", "E_INVALID_URL", _("The webhook URL must be an http(s) URL.")))
    if not isinstance(secret, str) or not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        errors.append(_error("/webhook/secret", "E_SECRET_LENGTH",
                             _("The webhook secret has {min} to {max} characters.").format(
                                 min=MIN_SECRET_LENGTH, max=MAX_SECRET_LENGTH)))
    if errors:
        raise ConfigurationError(400, "E_VALIDATION", _("The webhook is not valid."), errors=errors)
    return url, secret


# --- running ----------------------------------------------------------------------------------------


def dispatch_job(job_id: int) -> str:
    """Start the job: run it here, or split it into chunk tasks when it has more than ``CHUNK_SIZE`` items."""
    job = RolloutJob.unscoped.get(pk=job_id)
    if job.state in (RolloutJobState.COMPLETED, RolloutJobState.ERROR):
        return job.state
    if job.total <= CHUNK_SIZE:
        return run_job(job_id).state
    _mark_working(job_id)
    from tenants.tasks.rollout import run_chunk_task

    for first in range(1, job.total + 1, CHUNK_SIZE):
        enqueue(run_chunk_task, organization_id=job.organization_id, job_id=job.pk, first=first,
                last=min(first + CHUNK_SIZE - 1, job.total))
    return RolloutJobState.WORKING


def run_job(job_id: int) -> RolloutJob:
    """Process every pending item of the job in order, then complete it (safe to re-run)."""
    return run_chunk(job_id, 1, None)


def run_chunk(job_id: int, first: int, last: int | None) -> RolloutJob:
    """Process the pending items with ``first <= position <= last`` (``None``: to the end); complete the job
    when this finished its last item."""
    job = RolloutJob.unscoped.select_related("template_version__template", "organization").get(pk=job_id)
    if job.state in (RolloutJobState.COMPLETED, RolloutJobState.ERROR):
        return job
    _mark_working(job_id)
    items = RolloutJobItem.unscoped.filter(job_id=job_id, state=RolloutItemState.PENDING, position__gte=first)
    if last is not None:
        items = items.filter(position__lte=last)
    try:
        for item_id in list(items.order_by("position").values_list("pk", flat=True)):
            _process_item(job, item_id)
    except Exception as exc:
        logger.exception("rollout job %s failed", job.public_id)
        RolloutJob.unscoped.filter(pk=job_id).exclude(state=RolloutJobState.COMPLETED).update(
            state=RolloutJobState.ERROR, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now())
        raise
    _complete_if_done(job)
    return RolloutJob.unscoped.get(pk=job_id)


def _mark_working(job_id: int) -> None:
    RolloutJob.unscoped.filter(pk=job_id, state=RolloutJobState.PENDING).update(
        state=RolloutJobState.WORKING, started_at=timezone.now())


def _complete_if_done(job: RolloutJob) -> None:
    completed = RolloutJob.unscoped.filter(
        pk=job.pk, state=RolloutJobState.WORKING, total__lte=F("done") + F("failed")).update(
        state=RolloutJobState.COMPLETED, finished_at=timezone.now())
    if not completed:
        return
    job.refresh_from_db()
    log_action("tenants.rollout.job_completed", None, job.organization, job,
               {"total": job.total, "done": job.done, "failed": job.failed, "dry_run": job.dry_run})
    if job.webhook_url:
        from tenants.tasks.rollout import deliver_webhook_task

        enqueue(deliver_webhook_task, organization_id=job.organization_id, job_id=job.pk)


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _process_item(job: RolloutJob, item_id: int) -> None:
    counter = _QueryCounter()
    with connection.execute_wrapper(counter), transaction.atomic():
        item = RolloutJobItem.unscoped.select_for_update().get(pk=item_id)
        if item.state in FINISHED_ITEM:
            return  # finished by an earlier (redelivered) run
        try:
            with transaction.atomic():
                _apply_item(job, item)
        except ConfigurationError as exc:
            item.state = RolloutItemState.FAILED
            item.plan = list(getattr(exc, "plan", None) or [])
            item.error_code, item.error_message = exc.code, str(exc.message)
            item.errors = list(exc.errors or [])
            item.configuration_version = None
        except Exception as exc:
            logger.exception("rollout job %s: operator %s failed", job.public_id, item.operator_ref)
            item.state = RolloutItemState.FAILED
            item.plan, item.errors, item.configuration_version = [], [], None
            item.error_code, item.error_message = "E_INTERNAL", type(exc).__name__
        item.finished_at = timezone.now()
        item.queries = counter.count + 2  # and the two updates below
        item.save(update_fields=["operator", "state", "plan", "error_code", "error_message", "errors",
                                 "configuration_version", "queries", "finished_at"])
        counter_field = "failed" if item.state == RolloutItemState.FAILED else "done"
        RolloutJob.unscoped.filter(pk=job.pk).update(**{counter_field: F(counter_field) + 1})


def _apply_item(job: RolloutJob, item: RolloutJobItem) -> None:
    """Render and apply (or plan) the template for one operator; sets the outcome on ``item``."""
    from tenants.services.configuration.apply import apply_configuration
    from tenants.services.rollout.variables import render_template, system_variables

    runner = job.organization
    operator = _resolve_operator(runner, item.operator_ref)
    actor = _runner_actor(job, operator.pk if operator is not None else None)
    if actor is None or not actor.can(runner.pk, "configure"):
        raise ConfigurationError(403, "E_PERMISSION_DENIED",
                                 _("The person or API key that started the rollout may no longer configure for "
                                   "{organization}.").format(organization=runner.name))
    if operator is None or not (operator.pk in actor.member_roles or operator.pk in actor.granted_rights):
        raise ConfigurationError(404, "E_OPERATOR_NOT_FOUND",
                                 _("There is no operator “{ref}” that granted you access.").format(
                                     ref=item.operator_ref))
    item.operator = operator
    version = job.template_version
    with scope(**actor.scope_kwargs()):
        document = render_template(version.document, item.variables, system_variables(operator, dealer=runner))
        result = apply_configuration(
            actor, operator, document, dry_run=job.dry_run, source="rollout", rollout_job=job,
            acting_dealer=runner,
            summary=_("Rollout “{template}” version {number}").format(template=version.template.name,
                                                                     number=version.number))
    item.plan = result.plan
    item.configuration_version = result.version
    if job.dry_run:
        item.state = RolloutItemState.PLANNED
    else:
        item.state = RolloutItemState.APPLIED if result.plan else RolloutItemState.UNCHANGED
    item.error_code, item.error_message, item.errors = "", "", []


def _resolve_operator(runner, reference: str):
    """The organization named by a public id or by the runner's external reference; None: none or ambiguous."""
    public_id = _as_uuid(reference)
    if public_id is not None:
        operator = Organization.unscoped.filter(public_id=public_id).first()
        if operator is not None:
            return operator
    operator_ids = list(DealerLink.unscoped.filter(
        dealer=runner, status=LinkStatus.ACTIVE, invitation__external_reference=reference).values_list(
        "organization_id", flat=True)[:2])
    if len(operator_ids) != 1:
        return None
    return Organization.unscoped.get(pk=operator_ids[0])


def _runner_actor(job: RolloutJob, operator_id: int | None) -> Actor | None:
    """The job's creator as it is now, acting through the runner's grants on ``operator_id`` only.

    The same as ``actor_for_user``/``actor_for_api_key`` restricted to what the item needs: the creator's
    memberships (an API key: its organization) and the rights ``operator_id`` grants the runner. None when
    the creator is gone (deleted or deactivated user, revoked or expired key).
    """
    runner_id = job.organization_id
    user = api_key = None
    if job.created_by_api_key_id is not None:
        api_key = ApiKey.unscoped.filter(pk=job.created_by_api_key_id).first()
        if api_key is None or not api_key.is_active or getattr(api_key, "pos_device", False):
            return None
        roles = {api_key.organization_id: "api_key"}
    elif job.created_by_id is not None:
        user = User.objects.filter(pk=job.created_by_id, is_active=True).first()
        if user is None:
            return None
        roles = dict(Membership.unscoped.filter(user=user).values_list("organization_id", "role"))
    else:
        return None
    granted, via = {}, {}
    if operator_id is not None and operator_id not in roles and runner_id in roles:
        rights = set(AccessGrant.unscoped.filter(organization_id=operator_id, dealer_id=runner_id,
                                                 revoked_at__isnull=True).values_list("right", flat=True))
        if rights:
            granted, via = {operator_id: rights}, {operator_id: runner_id}
    return Actor(user=user, api_key=api_key, member_roles=roles, granted_rights=granted, granted_via=via)


def configurable_operators(dealer) -> list:
    """Operators that granted ``dealer`` the ``configure`` right, each with ``reference``: the dealer's
    external reference for it (its invitation's), "" if none."""
    from tenants.models import AccessRight, DealerLink, LinkStatus
    from tenants.services.grants import operators_granting

    operators = operators_granting(dealer, AccessRight.CONFIGURE)
    references = dict(DealerLink.unscoped.filter(
        dealer=dealer, status=LinkStatus.ACTIVE, organization__in=operators, invitation__isnull=False)
        .exclude(invitation__external_reference="").order_by("organization_id", "pk")
        .values_list("organization_id", "invitation__external_reference"))
    for operator in operators:
        operator.reference = references.get(operator.pk, "")
    return operators
