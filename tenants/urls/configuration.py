"""Pages of the configuration feature: `organization_urlpatterns` under /o/<org_id>/, `urlpatterns` at the top."""

organization_urlpatterns = []
urlpatterns = []
