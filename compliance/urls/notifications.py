"""Pages of the compliance centre (notifications): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
