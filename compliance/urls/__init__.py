"""Pages of the compliance centre: each part brings its own patterns (compliance/urls/<part>.py)."""

from importlib import import_module

PARTS = ("centre", "notifications", "nachschau", "archive", "watch", "procedure")
organization_urlpatterns = []
for _part in PARTS:
    organization_urlpatterns += import_module(f"compliance.urls.{_part}").organization_urlpatterns
urlpatterns = []
