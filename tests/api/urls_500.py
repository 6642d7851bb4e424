"""Test-only URLconf: the real API plus views that raise, for the 500 envelope."""

from django.urls import include, path
from rest_framework.views import APIView

from portal import urls as portal_urls


class ExplodingApiView(APIView):
    """An API view with a bug (authentication and permissions as usual)."""

    def get(self, request):
        raise RuntimeError("boom (test)")

    def post(self, request):
        raise RuntimeError("boom (test)")


def exploding_django_view(request):
    raise RuntimeError("boom outside DRF (test)")


urlpatterns = [
    path("api/v1/test/explode", ExplodingApiView.as_view()),
    path("api/v1/test/explode-plain", exploding_django_view),
    path("api/v1/", include("portal.api.urls")),
]

handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
