"""Pages of the compliance centre (archive): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views.archive import archive_item_view, archive_verify_view, archive_view

organization_urlpatterns = [
    path("compliance/archive/", archive_view, name="compliance_archive"),
    path("compliance/archive/<str:kind>/<uuid:archive_id>/", archive_item_view, name="compliance_archive_item"),
    path("compliance/archive/<str:kind>/<uuid:archive_id>/verify/", archive_verify_view,
         name="compliance_archive_verify"),
]
