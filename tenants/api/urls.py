from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter(trailing_slash=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")

organization_router = SimpleRouter(trailing_slash=False)
organization_router.register("memberships", views.MembershipViewSet, basename="membership")
organization_router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

app_name = "tenants-api"
urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("", include(router.urls)),
    path("organizations/<uuid:organization_id>/", include(organization_router.urls)),
]
