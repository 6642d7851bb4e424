"""Pages of the compliance centre (procedure): `organization_urlpatterns` under /o/<org_id>/."""

organization_urlpatterns = []
