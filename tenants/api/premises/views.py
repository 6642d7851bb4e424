"""API of the premises feature: Betriebsstätten, outlets and the data check of one organization.

Reading needs ``view_master_data``, writing ``configure`` (members with a staff role, write API
keys, dealers granted ``configure``; a dealer with ``read`` gets 403). Invisible organizations and
objects answer 404.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.premises.serializers import (
    BetriebsstaetteSerializer,
    CloseSerializer,
    DataCheckSerializer,
    OutletSerializer,
)
from tenants.models import Betriebsstaette, Outlet
from tenants.services.premises import (
    BETRIEBSSTAETTE_FIELDS,
    OUTLET_FIELDS,
    PremisesError,
    check_master_data,
    close_betriebsstaette,
    close_outlet,
    create_betriebsstaette,
    create_outlet,
    update_betriebsstaette,
    update_outlet,
)

__all__ = ["BetriebsstaetteViewSet", "DataCheckView", "OutletViewSet"]

CAPABILITIES = {
    "GET": "view_master_data",
    "HEAD": "view_master_data",
    "OPTIONS": "view_master_data",
    "POST": "configure",
    "PATCH": "configure",
}


def _call(service, **kwargs):
    """Run a service; its refusals become envelope errors."""
    try:
        return service(**kwargs)
    except PremisesError as exc:
        details = {exc.field: [exc.message]} if exc.field else None
        raise ApiError(exc.status, exc.code, exc.message, details) from exc
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc


class PremisesResourceMixin(OrganizationResourceMixin):
    capabilities = CAPABILITIES
    lookup_field = "public_id"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["organization"] = getattr(self, "organization", None)
        return context


@extend_schema_view(
    list=extend_schema(summary="List the Betriebsstätten (tax premises) of the organization"),
    retrieve=extend_schema(summary="One Betriebsstätte"),
    create=extend_schema(summary="Create a Betriebsstätte"),
    partial_update=extend_schema(summary="Change a Betriebsstätte"),
)
class BetriebsstaetteViewSet(PremisesResourceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             viewsets.GenericViewSet):
    """Betriebsstätten (§ 12 AO): the unit of the tax-office notification. Closed, never deleted."""

    serializer_class = BetriebsstaetteSerializer
    queryset = Betriebsstaette.objects.none()
    lookup_url_kwarg = "betriebsstaette_id"

    def get_queryset(self):
        return Betriebsstaette.objects.filter(organization=self.organization).order_by("name", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in BETRIEBSSTAETTE_FIELDS}
        betriebsstaette = _call(create_betriebsstaette, actor=self.actor, organization=self.organization, data=data)
        return Response(self.get_serializer(betriebsstaette).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        betriebsstaette = self.get_object()
        serializer = self.get_serializer(betriebsstaette, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in BETRIEBSSTAETTE_FIELDS}
        betriebsstaette = _call(update_betriebsstaette, actor=self.actor, betriebsstaette=betriebsstaette,
                                changes=changes)
        return Response(self.get_serializer(betriebsstaette).data)

    @extend_schema(summary="Close a Betriebsstätte", request=CloseSerializer,
                   responses={200: BetriebsstaetteSerializer}, operation_id="organizations_betriebsstaetten_close")
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        betriebsstaette = self.get_object()
        payload = CloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        betriebsstaette = _call(close_betriebsstaette, actor=self.actor, betriebsstaette=betriebsstaette,
                                closed_on=payload.validated_data.get("closed_on"))
        return Response(self.get_serializer(betriebsstaette).data)


@extend_schema_view(
    list=extend_schema(
        summary="List the outlets of the organization",
        parameters=[OpenApiParameter("betriebsstaette", OpenApiTypes.UUID,
                                     description="Only the outlets of this Betriebsstätte.")],
    ),
    retrieve=extend_schema(summary="One outlet"),
    create=extend_schema(summary="Create an outlet"),
    partial_update=extend_schema(summary="Change an outlet (its number cannot change)"),
)
class OutletViewSet(PremisesResourceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    """Outlets (Standorte). The number is unique in the organization and immutable once set."""

    serializer_class = OutletSerializer
    queryset = Outlet.objects.none()
    lookup_url_kwarg = "outlet_id"

    def get_queryset(self):
        queryset = Outlet.objects.filter(organization=self.organization).select_related("betriebsstaette")
        if self.action == "list" and "betriebsstaette" in self.request.query_params:
            value = self.request.query_params["betriebsstaette"]
            field = OutletSerializer(context=self.get_serializer_context()).fields["betriebsstaette"]
            try:
                betriebsstaette = field.to_internal_value(value)
            except ValidationError as exc:
                raise ValidationError({"betriebsstaette": exc.detail}) from None
            queryset = queryset.filter(betriebsstaette=betriebsstaette)
        return queryset.order_by("number", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in OUTLET_FIELDS}
        outlet = _call(create_outlet, actor=self.actor, organization=self.organization, data=data)
        return Response(self.get_serializer(outlet).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        outlet = self.get_object()
        serializer = self.get_serializer(outlet, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in OUTLET_FIELDS}
        outlet = _call(update_outlet, actor=self.actor, outlet=outlet, changes=changes)
        return Response(self.get_serializer(outlet).data)

    @extend_schema(summary="Close an outlet", request=CloseSerializer, responses={200: OutletSerializer},
                   operation_id="organizations_outlets_close")
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        outlet = self.get_object()
        payload = CloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outlet = _call(close_outlet, actor=self.actor, outlet=outlet, closed_on=payload.validated_data.get("closed_on"))
        return Response(self.get_serializer(outlet).data)


class DataCheckView(OrganizationResourceMixin):
    """What the master data still lack for DSFinV-K and the tax-office notification."""

    serializer_class = DataCheckSerializer
    capabilities = {"GET": "view_master_data", "HEAD": "view_master_data", "OPTIONS": "view_master_data"}
    http_method_names = ["get", "head", "options"]

    @extend_schema(responses=DataCheckSerializer, operation_id="organizations_data_check_retrieve",
                   summary="Data check of the master data")
    def get(self, request, *args, **kwargs):
        check = check_master_data(self.organization)
        data = {"complete": check.complete, "findings": [finding.as_dict() for finding in check.findings]}
        return Response(DataCheckSerializer(data).data)
