"""Pages of the pos systems feature: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import pos_systems as views

organization_urlpatterns = [
    path("pos-systems/", views.pos_system_list_view, name="pos_systems"),
    path("pos-systems/new/", views.pos_system_create_view, name="pos_system_create"),
    path("pos-systems/<uuid:pos_system_id>/", views.pos_system_detail_view, name="pos_system_detail"),
    path("pos-systems/<uuid:pos_system_id>/edit/", views.pos_system_edit_view, name="pos_system_edit"),
    path("pos-systems/<uuid:pos_system_id>/retire/", views.pos_system_retire_view, name="pos_system_retire"),
    path("pos-systems/<uuid:pos_system_id>/versions/", views.pos_system_version_add_view,
         name="pos_system_version_add"),
    path("pos-systems/<uuid:pos_system_id>/dealers/", views.pos_system_share_view, name="pos_system_share"),
    path("pos-systems/<uuid:pos_system_id>/dealers/<uuid:dealer_id>/remove/", views.pos_system_unshare_view,
         name="pos_system_unshare"),
    path("shared-pos-systems/", views.shared_pos_systems_view, name="shared_pos_systems"),
    path("shared-pos-systems/<uuid:pos_system_id>/", views.shared_pos_system_detail_view,
         name="shared_pos_system_detail"),
]
urlpatterns = []
