"""API of the premises feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api.premises import views

router = SimpleRouter(trailing_slash=False)
router.register("betriebsstaetten", views.BetriebsstaetteViewSet, basename="betriebsstaette")
router.register("outlets", views.OutletViewSet, basename="outlet")

organization_urlpatterns = [
    *router.urls,
    path("data-check", views.DataCheckView.as_view(), name="data-check"),
]
urlpatterns = []
