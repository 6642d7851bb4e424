"""Pages of the contracts feature: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import contracts as views

organization_urlpatterns = [
    path("contracts/", views.contracts_view, name="contracts"),
    path("contracts/apply/", views.contract_apply_view, name="contract_apply"),
    path("contracts/<str:role_kind>/sign/", views.contract_sign_view, name="contract_sign"),
    path("contracts/<str:role_kind>/terminate/", views.contract_terminate_view, name="contract_terminate"),
    path("framework-contracts/", views.framework_contracts_view, name="framework_contracts"),
    path("framework-contracts/<uuid:contract_id>/", views.framework_contract_view, name="framework_contract"),
    path("framework-contracts/<uuid:contract_id>/countersign/", views.framework_contract_countersign_view,
         name="framework_contract_countersign"),
]
urlpatterns = [
    path("contracts/<str:kind>/v<int:version>/", views.contract_version_view, name="contract_version"),
]
