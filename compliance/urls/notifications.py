"""Pages of the compliance centre (notifications): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views.notifications import (
    notification_confirm_view,
    notification_view,
    notification_xml_view,
    notifications_view,
)

organization_urlpatterns = [
    path("compliance/notifications/", notifications_view, name="compliance_notifications"),
    path("compliance/notifications/<uuid:notification_id>/", notification_view, name="compliance_notification"),
    path("compliance/notifications/<uuid:notification_id>/xml/", notification_xml_view,
         name="compliance_notification_xml"),
    path("compliance/notifications/<uuid:notification_id>/confirm/", notification_confirm_view,
         name="compliance_notification_confirm"),
]
