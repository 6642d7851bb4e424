"""Usage API: GET /api/v1/organizations/{id}/usage?month=YYYY-MM.

Per signing unit the transactions of the Berlin month so far, blocks, fee, forecast, whether it is
billable and its days; the totals; for a dealer the sums per operator. Reading needs ``view``
(members, API keys, dealers granted ``read``); other organizations answer 404; a bad month 400
``E_MONTH_INVALID``.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.usage.serializers import UsageSerializer, usage_document
from tenants.models import RoleKind
from tenants.services.billing.usage import UsageError, month_usage, operator_sums, parse_month, usage_totals

__all__ = ["UsageView"]


class UsageView(OrganizationResourceMixin):
    """Usage of the organization's signing units (operator) or of the units billed to it (dealer)."""

    serializer_class = UsageSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        tags=["billing"], operation_id="organizations_usage_retrieve", summary="Usage of the signing units in a month",
        parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM; default: the current "
                                                                            "month (Europe/Berlin).")],
        description="Per signing unit: transactions of the Berlin month so far, blocks and net list fee, the "
                    "forecast for the month, whether it is billable, the bill-to and the transactions per day. "
                    "Totals (fee: units billed to this organization) and, for a dealer, the sums per operator.",
        responses={200: UsageSerializer, 400: OpenApiResponse(description="E_MONTH_INVALID."),
                   404: OpenApiResponse(description="E_NOT_FOUND.")},
    )
    def get(self, request, *args, **kwargs):
        now = timezone.now()
        try:
            month = parse_month(request.query_params.get("month"), now)
        except UsageError as exc:
            raise ApiError(exc.status, exc.code, exc.message, {"month": [str(exc.message)]}) from exc
        rows = month_usage(self.organization, month, now=now)
        operators = (operator_sums(rows, self.organization)
                     if self.organization.has_role(RoleKind.DEALER, active_only=True) else [])
        return Response(usage_document(month, rows, usage_totals(rows, self.organization), operators))
