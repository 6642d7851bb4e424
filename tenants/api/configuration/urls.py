"""API of the configuration feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.configuration import views

organization_urlpatterns = [
    path("configuration", views.ConfigurationView.as_view(), name="configuration-detail"),
    path("configuration/versions", views.ConfigurationVersionListView.as_view(), name="configuration-version-list"),
    path("configuration/versions/<int:number>", views.ConfigurationVersionView.as_view(),
         name="configuration-version-detail"),
]
urlpatterns = [
    path("configuration/schema", views.ConfigurationSchemaView.as_view(), name="configuration-schema"),
]
