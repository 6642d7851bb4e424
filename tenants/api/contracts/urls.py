"""API of the contracts feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.contracts import views

organization_urlpatterns = [
    path("roles", views.RoleListView.as_view(), name="role-list"),
    path("contract-signatures", views.ContractSignatureListView.as_view(), name="contract-signature-list"),
    path("contracts/<str:role_kind>/sign", views.ContractSignView.as_view(), name="contract-sign"),
    path("contracts/<str:role_kind>/terminate", views.ContractTerminateView.as_view(), name="contract-terminate"),
    path("framework-contracts", views.FrameworkContractListView.as_view(), name="framework-contract-list"),
    path("framework-contracts/<uuid:contract_id>", views.FrameworkContractDetailView.as_view(),
         name="framework-contract-detail"),
    path("framework-contracts/<uuid:contract_id>/countersign", views.FrameworkContractCountersignView.as_view(),
         name="framework-contract-countersign"),
]
urlpatterns = [
    path("contracts", views.ContractListView.as_view(), name="contract-list"),
    path("contracts/<str:kind>/versions/<int:version>", views.ContractVersionView.as_view(),
         name="contract-version-detail"),
]
