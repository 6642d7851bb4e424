"""(filled by the closings part)"""

organization_urlpatterns = []
