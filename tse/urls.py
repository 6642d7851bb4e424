"""Pages of the TSE app: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

organization_urlpatterns = []
urlpatterns = []
