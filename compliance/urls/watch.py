"""Pages of the compliance centre (watch): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
