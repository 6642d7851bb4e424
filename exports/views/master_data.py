"""(filled by the master_data part)"""

organization_urlpatterns = []
