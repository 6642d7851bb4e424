"""Pages of the compliance centre (archive): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
