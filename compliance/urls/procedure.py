"""Pages of the compliance centre (procedure): `organization_urlpatterns` under /o/<org_id>/."""

from django.urls import path

from compliance.views.procedure import (
    procedure_generate_view,
    procedure_pdf_view,
    procedure_version_view,
    procedure_view,
)

organization_urlpatterns = [
    path("compliance/procedure/", procedure_view, name="compliance_procedure"),
    path("compliance/procedure/generate/", procedure_generate_view, name="compliance_procedure_generate"),
    path("compliance/procedure/<int:number>/", procedure_version_view, name="compliance_procedure_version"),
    path("compliance/procedure/<int:number>/pdf/", procedure_pdf_view, name="compliance_procedure_pdf"),
]
