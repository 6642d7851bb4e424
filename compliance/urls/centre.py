"""Pages of the compliance centre (centre): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views.centre import centre_view, deadlines_view

organization_urlpatterns = [
    path("compliance/", centre_view, name="compliance"),
    path("compliance/deadlines/", deadlines_view, name="compliance_deadlines"),
]
