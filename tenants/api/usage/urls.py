"""API of the usage feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.usage import views

organization_urlpatterns = [
    path("usage", views.UsageView.as_view(), name="usage"),
]
urlpatterns = []
