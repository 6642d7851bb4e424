"""API of the rollout feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.rollout import views

organization_urlpatterns = [
    path("rollout-templates", views.OrganizationTemplateListView.as_view(), name="rollout-template-list"),
]
urlpatterns = [
    path("rollout-templates/schema", views.TemplateSchemaView.as_view(), name="rollout-template-schema"),
    path("rollout-templates/<uuid:template_id>", views.TemplateDetailView.as_view(), name="rollout-template-detail"),
    path("rollout-templates/<uuid:template_id>/versions", views.VersionListView.as_view(),
         name="rollout-template-version-list"),
    path("rollout-templates/<uuid:template_id>/versions/<int:number>", views.VersionDetailView.as_view(),
         name="rollout-template-version-detail"),
    path("rollout-templates/<uuid:template_id>/versions/<int:number>/diff", views.VersionDiffView.as_view(),
         name="rollout-template-version-diff"),
    path("rollout-templates/<uuid:template_id>/shares", views.ShareListView.as_view(),
         name="rollout-template-share-list"),
    path("rollout-templates/<uuid:template_id>/shares/<uuid:dealer_id>", views.ShareDetailView.as_view(),
         name="rollout-template-share-detail"),
]
