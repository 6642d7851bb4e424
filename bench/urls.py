"""The product URLs plus ``POST /bench/insert``: a bare authenticated DRF endpoint doing one INSERT.

It authenticates with the same API-key authentication, permission and throttle classes as every
API view (the DRF defaults of ``portal.settings``) and inserts one row into ``bench_insert``, a
table ``bench/signing.py`` creates with raw SQL. It is the baseline the signing API is compared with.
"""

from django.db import connection
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class BareInsertView(APIView):
    def post(self, request, *args, **kwargs):
        api_key = request._request.actor.api_key
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_insert (api_key_id, payload) VALUES (%s, %s) RETURNING id",
                           [api_key.pk if api_key else None, str(request.data.get("payload", ""))[:200]])
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id}, status=201)


urlpatterns = [
    path("bench/insert", BareInsertView.as_view()),
    path("", include("portal.urls")),
]
