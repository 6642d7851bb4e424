"""API of the rollout_jobs feature: `organization_urlpatterns` under /api/v1/organizations/<organization_id>/,
`urlpatterns` under /api/v1/."""

organization_urlpatterns = []
urlpatterns = []
