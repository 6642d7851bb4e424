"""(filled by the archives part)"""

organization_urlpatterns = []
