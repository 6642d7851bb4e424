"""Pages of the rollout_jobs feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

organization_urlpatterns = []
urlpatterns = []
