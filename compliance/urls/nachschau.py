"""Pages of the compliance centre (nachschau): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views.nachschau import bundle_download_view, bundle_progress_view, bundle_view, nachschau_view

organization_urlpatterns = [
    path("compliance/nachschau/", nachschau_view, name="compliance_nachschau"),
    path("compliance/nachschau/<uuid:bundle_id>/", bundle_view, name="compliance_nachschau_bundle"),
    path("compliance/nachschau/<uuid:bundle_id>/progress/", bundle_progress_view,
         name="compliance_nachschau_progress"),
    path("compliance/nachschau/<uuid:bundle_id>/download/", bundle_download_view,
         name="compliance_nachschau_download"),
]
