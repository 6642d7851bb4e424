"""The § 146a (4) AO notification pages of an operator.

- **Notifications** (``compliance_notifications``, ``view``): per Betriebsstätte the data the next file would
  contain (systems, TSEs, and the problems ELSTER would complain about), the "Generate notification file" button
  (``configure``; a partner with only ``read`` gets 403 on POST) and the files generated so far (number, as of,
  SHA-256, submitted or not).
- **Notification** (``compliance_notification``): the content of one file, its XML download
  (``compliance_notification_xml``) and the confirmation form (date + ELSTER transfer ticket,
  ``compliance_notification_confirm``, ``configure``) or the recorded confirmation.

Direct ELSTER/ERiC transmission is out of scope (it needs an ELSTER manufacturer id): the page says so and
explains the upload in Mein ELSTER.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.forms.notifications import ConfirmSubmissionForm, GenerateNotificationForm
from compliance.models import NotificationSubmission, TaxOfficeNotification
from compliance.notification import notification_codes
from compliance.services.notification_data import notification_data
from compliance.services.notifications import (
    NotificationError,
    confirm_submission,
    generate_notification,
    notification_file_name,
    notifications_of,
)
from compliance.views.centre import require_operator
from exports.models import DecommissionReason
from portal.views.base import organization_page
from tenants.models import Betriebsstaette, PosSystemType
from tse.models import FormFactor

__all__ = ["for_display", "notification_confirm_view", "notification_view", "notification_xml_view",
           "notifications_view"]

SHA256_HEADER = "X-Content-SHA256"


_DATE_KEYS = ("as_of", "closed_on", "acquired_on", "commissioned_on", "decommissioned_on")


def for_display(data: dict) -> dict:
    """A copy of notification data with its ISO dates as ``date`` objects (shown in the Berlin format)."""
    def convert(value):
        if isinstance(value, dict):
            return {key: (dt.date.fromisoformat(item) if key in _DATE_KEYS and isinstance(item, str) and item
                          else convert(item)) for key, item in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    shown = convert(data)
    for system in shown.get("systems") or []:
        system["type_label"] = _label(PosSystemType, system.get("type"))
        system["decommission_reason_label"] = _label(DecommissionReason, system.get("decommission_reason"))
        tse = system.get("tse") or {}
        if tse:
            tse["form_factor_label"] = _label(FormFactor, tse.get("form_factor"))
    return shown


def _label(choices, value) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _sections(organization) -> list[Betriebsstaette]:
    premises = list(Betriebsstaette.objects.filter(organization=organization).order_by("name", "pk"))
    for betriebsstaette in premises:
        betriebsstaette.preview = for_display(notification_data(betriebsstaette))
        betriebsstaette.notifications = list(notifications_of(betriebsstaette))
    return premises


def _notification(organization, notification_id) -> TaxOfficeNotification:
    return get_object_or_404(
        TaxOfficeNotification.objects.filter(organization=organization)
        .select_related("betriebsstaette", "created_by", "acting_organization"),
        public_id=notification_id)


def _submission(notification):
    return (NotificationSubmission.objects.filter(notification=notification).select_related("confirmed_by")
            .first())


@require_http_methods(["GET", "POST"])
@organization_page("view")
def notifications_view(request, organization):
    require_operator(organization)
    can_configure = request.actor.can(organization.pk, "configure")
    status, failed = 200, None
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied
        form = GenerateNotificationForm(request.POST)
        if form.is_valid():
            betriebsstaette = get_object_or_404(Betriebsstaette.objects.filter(organization=organization),
                                                public_id=form.cleaned_data["betriebsstaette"])
            try:
                notification = generate_notification(request.actor, betriebsstaette, form.cleaned_data["as_of"])
            except NotificationError as exc:
                failed = {"betriebsstaette": betriebsstaette.pk, "message": exc.message}
            else:
                messages.success(request, _("Notification file no. %(number)s was generated.") % {
                    "number": notification.number})
                return redirect("compliance_notification", org_id=organization.public_id,
                                notification_id=notification.public_id)
        else:
            failed = {"betriebsstaette": None, "message": _("Choose a Betriebsstätte and a valid date.")}
        status = 400
    return render(request, "compliance/notifications/list.html", {
        "organization": organization,
        "premises": _sections(organization),
        "can_configure": can_configure,
        "failed": failed,
        "codes": notification_codes(),
    }, status=status)


def _detail(request, organization, notification, form=None, status=200):
    submission = _submission(notification)
    can_configure = request.actor.can(organization.pk, "configure")
    if submission is None and can_configure and form is None:
        form = ConfirmSubmissionForm()
    return render(request, "compliance/notifications/detail.html", {
        "organization": organization,
        "notification": notification,
        "content": for_display(notification.content),
        "submission": submission,
        "covered_events": list(notification.covered_events.order_by("occurred_on", "pk")
                               .select_related("cash_register__client")),
        "form": form if submission is None else None,
        "can_configure": can_configure,
        "file_name": notification_file_name(notification),
    }, status=status)


@require_GET
@organization_page("view")
def notification_view(request, organization, notification_id):
    require_operator(organization)
    return _detail(request, organization, _notification(organization, notification_id))


@require_GET
@organization_page("view")
def notification_xml_view(request, organization, notification_id):
    """The stored ELSTER upload file as an attachment, byte for byte, with ``X-Content-SHA256``."""
    require_operator(organization)
    notification = _notification(organization, notification_id)
    content = notification.xml.encode("utf-8")
    response = HttpResponse(content, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{notification_file_name(notification)}"'
    response[SHA256_HEADER] = notification.sha256
    return response


@require_POST
@organization_page("configure")
def notification_confirm_view(request, organization, notification_id):
    require_operator(organization)
    notification = _notification(organization, notification_id)
    form = ConfirmSubmissionForm(request.POST)
    if form.is_valid():
        try:
            confirm_submission(request.actor, notification, form.cleaned_data["submitted_on"],
                               form.cleaned_data["transfer_ticket"])
        except NotificationError as exc:
            if exc.code == "E_ALREADY_SUBMITTED":
                messages.error(request, exc.message)
                return redirect("compliance_notification", org_id=organization.public_id,
                                notification_id=notification.public_id)
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("The submission of notification no. %(number)s was recorded.") % {
                "number": notification.number})
            return redirect("compliance_notification", org_id=organization.public_id,
                            notification_id=notification.public_id)
    if _submission(notification) is not None:
        raise Http404
    return _detail(request, organization, notification, form=form, status=400)
