"""(filled by the archives part)"""

urlpatterns = []
