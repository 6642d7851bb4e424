"""(filled by the closings part)"""

urlpatterns = []
