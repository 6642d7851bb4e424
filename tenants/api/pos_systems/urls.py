"""API of the pos systems feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.pos_systems import views

organization_urlpatterns = [
    path("pos-systems", views.PosSystemListView.as_view(), name="pos-system-list"),
    path("pos-systems/<uuid:pos_system_id>", views.PosSystemDetailView.as_view(), name="pos-system-detail"),
    path("pos-systems/<uuid:pos_system_id>/retire", views.PosSystemRetireView.as_view(), name="pos-system-retire"),
    path("pos-systems/<uuid:pos_system_id>/versions", views.PosSystemVersionListView.as_view(),
         name="pos-system-version-list"),
    path("pos-systems/<uuid:pos_system_id>/dealers", views.PosSystemDealerListView.as_view(),
         name="pos-system-dealer-list"),
    path("pos-systems/<uuid:pos_system_id>/dealers/<uuid:dealer_id>", views.PosSystemDealerDetailView.as_view(),
         name="pos-system-dealer-detail"),
    path("shared-pos-systems", views.SharedPosSystemListView.as_view(), name="shared-pos-system-list"),
    path("shared-pos-systems/<uuid:pos_system_id>", views.SharedPosSystemDetailView.as_view(),
         name="shared-pos-system-detail"),
]
urlpatterns = []
