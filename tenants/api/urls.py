from importlib import import_module

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter(trailing_slash=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")

organization_router = SimpleRouter(trailing_slash=False)
organization_router.register("memberships", views.MembershipViewSet, basename="membership")
organization_router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

organization_urlpatterns = list(organization_router.urls)
feature_urlpatterns = []
for area in ("contracts", "pos_systems", "partners", "premises", "entitlements", "billing", "usage",
             "configuration", "rollout", "rollout_jobs"):
    module = import_module(f"tenants.api.{area}.urls")
    organization_urlpatterns += module.organization_urlpatterns
    feature_urlpatterns += module.urlpatterns

app_name = "tenants-api"
urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    *feature_urlpatterns,
    path("", include(router.urls)),
    path("organizations/<uuid:organization_id>/", include(organization_urlpatterns)),
]
