"""API of the rollout_jobs feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

from django.urls import path

from tenants.api.rollout_jobs import views

organization_urlpatterns = [
    path("rollout-jobs", views.OrganizationJobListView.as_view(), name="rollout-job-list"),
]
urlpatterns = [
    path("rollout-templates/<uuid:template_id>/apply", views.TemplateApplyView.as_view(),
         name="rollout-template-apply"),
    path("rollout-jobs/<uuid:job_id>", views.JobDetailView.as_view(), name="rollout-job-detail"),
    path("rollout-jobs/<uuid:job_id>/items", views.JobItemListView.as_view(), name="rollout-job-item-list"),
]
