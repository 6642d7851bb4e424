"""Pages of the usage feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import usage

organization_urlpatterns = [
    path("billing/usage/", usage.usage_view, name="billing_usage"),
]
urlpatterns = []
