"""Pages of the compliance centre (nachschau): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
