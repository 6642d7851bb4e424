"""Pages of the rollout_jobs feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

from django.urls import path

from tenants.views import rollout_jobs as views

organization_urlpatterns = [
    path("rollout/templates/<uuid:template_id>/apply/", views.rollout_apply_view, name="rollout_apply"),
    path("rollout/templates/<uuid:template_id>/apply/example.csv", views.rollout_apply_example_view,
         name="rollout_apply_example"),
    path("rollout/jobs/", views.rollout_jobs_view, name="rollout_jobs"),
    path("rollout/jobs/<uuid:job_id>/", views.rollout_job_view, name="rollout_job"),
    path("rollout/jobs/<uuid:job_id>/progress/", views.rollout_job_progress_view, name="rollout_job_progress"),
]
urlpatterns = []
