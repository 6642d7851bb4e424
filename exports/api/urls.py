"""The DSFinV-K API (fiskaly DSFinV-K API style, api-conventions.md §2): master data, closings, exports."""

from exports.api import archives, closings, master_data

urlpatterns = [*master_data.urlpatterns, *closings.urlpatterns, *archives.urlpatterns]
