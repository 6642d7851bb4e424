"""Pages of the pos systems feature: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

organization_urlpatterns = []
urlpatterns = []
