"""Pages of the compliance centre (centre): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
