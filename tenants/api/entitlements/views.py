"""API of the entitlements feature.

- ``GET /products``: the catalogue (products on sale with the plan valid today), for every caller.
- ``/organizations/{dealer}/entitlement-orders``: the dealer's purchases (GET) and a new purchase
  (POST; honours ``Idempotency-Key`` through ``portal.idempotency``). Members of the dealer only
  (others: 404); buying needs ``manage_entitlements`` (owners, admins, write keys).
- ``GET /organizations/{id}/entitlements``: a dealer's stock, assigned and active entitlements and an
  operator's own ones (``view``: members and partners the operator granted a right).
- ``POST /entitlements/{id}/assign|activate|cancel``: the entitlement must be visible (else 404);
  the service decides who may (``E_RIGHT_MISSING``, ``E_PERMISSION_DENIED``, ``E_NOT_BILLED_PARTY``).
"""

from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.entitlements.serializers import (
    ActivateSerializer,
    AssignSerializer,
    EntitlementOrderSerializer,
    EntitlementSerializer,
    ProductSerializer,
    PurchaseSerializer,
)
from tenants.models import Entitlement, EntitlementOrder, EntitlementState, Organization, Outlet, Product
from tenants.services import entitlements as svc

TAGS = ["entitlements"]
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION, E_OUTLET_REQUIRED, E_SIGNING_UNIT_REQUIRED."),
    403: OpenApiResponse(description="E_PERMISSION_DENIED, E_RIGHT_MISSING, E_ROLE_INACTIVE, E_NOT_BILLED_PARTY, "
                                     "E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND, E_OPERATOR_NOT_FOUND, E_OUTLET_NOT_FOUND, "
                                     "E_SIGNING_UNIT_NOT_FOUND."),
    409: OpenApiResponse(description="E_CREDIT_LIMIT_EXCEEDED, E_NO_FRAMEWORK_CONTRACT, E_ENTITLEMENT_STATE, "
                                     "E_SIGNING_UNIT_LICENSED, E_SIGNING_UNIT_DISABLED, E_OUTLET_CLOSED, "
                                     "E_PRODUCT_NOT_ON_SALE, E_NO_PRICE_PLAN."),
}
STATE_PARAM = OpenApiParameter("state", str, enum=list(EntitlementState.values))


def api_error(exc: svc.EntitlementError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


class ProductListView(GenericAPIView):
    """Products on sale, each with the price plan valid today."""

    http_method_names = ["get", "head", "options"]
    serializer_class = ProductSerializer
    filter_backends = []

    def get_queryset(self):
        return Product.objects.filter(active=True).order_by("name", "pk")

    @extend_schema(tags=TAGS, operation_id="products_list")
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = {row["product"].pk: row["plan"] for row in svc.catalogue()}
        return self.get_paginated_response(ProductSerializer(page, many=True, context={"plans": rows}).data)


class EntitlementOrderListView(OrganizationResourceMixin):
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {"GET": "view_members", "HEAD": "view_members", "OPTIONS": "view_members",
                    "POST": "manage_entitlements"}
    serializer_class = EntitlementOrderSerializer
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.organization.pk not in self.actor.member_roles:
            raise NotFound  # a dealer's purchases exist for its members only

    def get_queryset(self):
        return EntitlementOrder.objects.filter(dealer=self.organization).select_related(
            "dealer", "product", "plan").order_by("-created_at", "-pk")

    @extend_schema(tags=TAGS, operation_id="entitlement_orders_list")
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EntitlementOrderSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, operation_id="entitlement_orders_create", request=PurchaseSerializer,
                   responses={201: EntitlementOrderSerializer, **ERRORS},
                   description="Buy `quantity` entitlements of a product within the credit limit of the framework "
                               "contract in force; its discount tier applies. Send an `Idempotency-Key`.")
    def post(self, request, *args, **kwargs):
        payload = PurchaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        value = payload.validated_data["product"]
        product = Product.objects.filter(code=value).first()
        if product is None:
            product = Product.objects.filter(public_id=value).first() if _is_uuid(value) else None
        if product is None:
            raise ApiError(404, "E_PRODUCT_NOT_FOUND", _("There is no product with this code."))
        try:
            order = svc.purchase(actor=self.actor, dealer=self.organization, product=product,
                                 quantity=payload.validated_data["quantity"])
        except svc.EntitlementError as exc:
            raise api_error(exc) from exc
        return Response(EntitlementOrderSerializer(order).data, status=status.HTTP_201_CREATED)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class EntitlementListView(OrganizationResourceMixin):
    """A dealer's entitlements and those assigned to an operator (both, for an organization that is both)."""

    http_method_names = ["get", "head", "options"]
    serializer_class = EntitlementSerializer
    filter_backends = []

    def get_queryset(self):
        rows = Entitlement.objects.filter(Q(dealer=self.organization) | Q(operator=self.organization))
        state = self.request.query_params.get("state", "")
        if state:
            if state not in EntitlementState.values:
                states = ", ".join(EntitlementState.values)
                raise ApiError(400, "E_VALIDATION", _("Unknown state “{state}”.").format(state=state),
                               {"state": [_("Use one of: {states}.").format(states=states)]})
            rows = rows.filter(state=state)
        return rows.select_related("dealer", "operator", "outlet", "signing_unit", "product", "order").order_by(
            "created_at", "pk")

    @extend_schema(tags=TAGS, operation_id="entitlements_list", parameters=[STATE_PARAM])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EntitlementSerializer(page, many=True).data)


class _EntitlementActionView(GenericAPIView):
    http_method_names = ["post", "options"]
    serializer_class = EntitlementSerializer
    filter_backends = []

    @property
    def actor(self):
        return self.request._request.actor

    def get_entitlement(self) -> Entitlement:
        entitlement = Entitlement.objects.filter(public_id=self.kwargs["entitlement_id"]).first()
        if entitlement is None:
            raise NotFound
        return entitlement

    def visible(self, model, public_id, code: str, **filters):
        if public_id is None:
            return None
        found = model.unscoped.filter(public_id=public_id, organization_id__in=self.actor.visible_organization_ids,
                                      **filters).first()
        if found is None:
            raise ApiError(404, code, _("Not found."))
        return found

    def run(self, call):
        try:
            entitlement = call()
        except svc.EntitlementError as exc:
            raise api_error(exc) from exc
        entitlement = Entitlement.unscoped.select_related(
            "dealer", "operator", "outlet", "signing_unit", "product", "order").get(pk=entitlement.pk)
        return Response(EntitlementSerializer(entitlement).data)


class EntitlementAssignView(_EntitlementActionView):
    @extend_schema(tags=TAGS, operation_id="entitlements_assign", request=AssignSerializer,
                   responses={200: EntitlementSerializer, **ERRORS},
                   description="Transfer a stock entitlement to an open outlet of an operator that granted the "
                               "dealer the `entitlements` right.")
    def post(self, request, *args, **kwargs):
        entitlement = self.get_entitlement()
        payload = AssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        operator = Organization.objects.filter(public_id=payload.validated_data["operator_id"]).first()
        if operator is None:
            raise ApiError(404, "E_OPERATOR_NOT_FOUND", _("Not found."))
        outlet = Outlet.unscoped.filter(organization=operator, public_id=payload.validated_data["outlet_id"]).first()
        if outlet is None:
            raise ApiError(404, "E_OUTLET_NOT_FOUND", _("Not found."))
        return self.run(lambda: svc.assign(actor=self.actor, entitlement=entitlement, operator=operator,
                                           outlet=outlet))


class EntitlementActivateView(_EntitlementActionView):
    @extend_schema(tags=TAGS, operation_id="entitlements_activate", request=ActivateSerializer,
                   responses={200: EntitlementSerializer, **ERRORS},
                   description="Activate a transferred entitlement (a stock one is transferred in the same step) "
                               "for a signing unit of the operator (signing-unit products) or its outlet. The "
                               "dealer is billed when it activates, the operator when it activates itself.")
    def post(self, request, *args, **kwargs):
        from tse.models import SigningUnit

        entitlement = self.get_entitlement()
        payload = ActivateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        unit = self.visible(SigningUnit, payload.validated_data.get("signing_unit_id"), "E_SIGNING_UNIT_NOT_FOUND")
        outlet = self.visible(Outlet, payload.validated_data.get("outlet_id"), "E_OUTLET_NOT_FOUND")
        return self.run(lambda: svc.activate(actor=self.actor, entitlement=entitlement, signing_unit=unit,
                                             outlet=outlet))


class EntitlementCancelView(_EntitlementActionView):
    @extend_schema(tags=TAGS, operation_id="entitlements_cancel", request=None,
                   responses={200: EntitlementSerializer, **ERRORS},
                   description="Cancel a subscription at the end of its term (irreversible; it stays active and "
                               "billable until `term_end`). Only the billed party may.")
    def post(self, request, *args, **kwargs):
        entitlement = self.get_entitlement()
        return self.run(lambda: svc.cancel(actor=self.actor, entitlement=entitlement))
