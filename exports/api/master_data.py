"""(filled by the master_data part)"""

urlpatterns = []
