"""Pages of the configuration feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import configuration as views

organization_urlpatterns = [
    path("configuration/", views.configuration_view, name="configuration"),
    path("configuration/history/", views.configuration_history_view, name="configuration_history"),
    path("configuration/history/<int:number>/", views.configuration_version_view, name="configuration_version"),
    path("configuration/export/", views.configuration_export_view, name="configuration_export"),
    path("configuration/import/", views.configuration_import_view, name="configuration_import"),
]
urlpatterns = []
