"""Pages of the compliance centre (watch): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views import watch

organization_urlpatterns = [
    path("compliance/tse-watch/", watch.watch_view, name="compliance_watch"),
    path("compliance/replacements/", watch.replacements_view, name="compliance_replacements"),
]
