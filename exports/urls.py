"""Pages of the DSFinV-K app: `organization_urlpatterns` live under /o/<org_id>/, `urlpatterns` at the top."""

from exports.views import archives, closings, master_data

organization_urlpatterns = [*master_data.organization_urlpatterns, *closings.organization_urlpatterns,
                            *archives.organization_urlpatterns]
urlpatterns = []
