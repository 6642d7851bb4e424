"""Pages of the rollout feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import rollout_templates as views

organization_urlpatterns = [
    path("rollout/templates/", views.rollout_templates_view, name="rollout_templates"),
    path("rollout/templates/new/", views.rollout_template_create_view, name="rollout_template_create"),
    path("rollout/templates/<uuid:template_id>/", views.rollout_template_view, name="rollout_template"),
    path("rollout/templates/<uuid:template_id>/archive/", views.rollout_template_archive_view,
         name="rollout_template_archive"),
    path("rollout/templates/<uuid:template_id>/versions/new/", views.rollout_template_version_create_view,
         name="rollout_template_version_create"),
    path("rollout/templates/<uuid:template_id>/versions/<int:number>/", views.rollout_template_version_view,
         name="rollout_template_version"),
    path("rollout/templates/<uuid:template_id>/shares/", views.rollout_template_shares_view,
         name="rollout_template_shares"),
    path("rollout/templates/<uuid:template_id>/shares/<uuid:dealer_id>/remove/", views.rollout_template_unshare_view,
         name="rollout_template_unshare"),
]
urlpatterns = []
