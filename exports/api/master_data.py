"""DSFinV-K master data in the API, modelled on the fiskaly DSFinV-K API (api-conventions.md §2.2).

- ``GET /cash_registers``, ``GET|PUT /cash_registers/{client_id}``: ``client_id`` is the UUID the
  signing API knows the POS by (``/tss/{tss_id}/client/{client_id}``). ``PUT`` creates the
  register (201) or changes it (200; fields left out keep their value); the answer carries the
  current master data as DSFinV-K columns, their problems, the latest revision number and
  ``master_data_changed_while_closing_due``.
- ``GET /cash_registers/{client_id}/revisions`` and ``…/revisions/{n}``: the snapshots closings
  were exported with, with the field-by-field changes to the previous revision.
- ``GET /vat_definitions`` (the Anlage 2 keys with today's rate, then the operator's own),
  ``GET|PUT|DELETE /vat_definitions/{key}``: only keys ≥ 1000 may be written
  (400 ``E_VAT_KEY_RESERVED``); a key used by an accepted closing cannot be deleted (409
  ``E_VAT_KEY_IN_USE``). ``DELETE`` is a portal addition.

The organization: lists and VAT keys take ``?organization_id=`` (any organization the caller
sees; default: the API key's organization, for a browser session the active one); cash registers
are found by their client in every organization the caller sees. Reading needs
``view_master_data`` (members, API keys, dealers granted ``read``), writing ``configure`` (a dealer
with ``read`` only gets 403, a read-only key 403 ``E_API_KEY_READ_ONLY``); anything of an
organization the caller does not see answers 404.
"""


from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from exports.dsfinvk.vat_keys import SYSTEM_VAT_KEYS
from exports.models import CashRegister, ClosingState, MasterDataRevision, VatDefinition, VatSlot
from exports.services import cash_registers as service
from exports.services.master_data import diff_master_data
from portal.api.exceptions import ApiError
from portal.api.organizations import default_organization, named_organization
from tenants.models import Organization, Outlet, PosSystemVersion
from tse.models import TseClient

__all__ = ["CashRegisterDetailView", "CashRegisterListView", "RevisionDetailView", "RevisionListView",
           "VatDefinitionDetailView", "VatDefinitionListView", "cash_register_data", "urlpatterns",
           "vat_definition_data"]

TAGS = ["dsfinvk"]
FLAG = "UmsatzsteuerNichtErmittelbar"
CLIENT_ID = OpenApiParameter("client_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The id of the POS client in the signing API (`/tss/{tss_id}/client/{id}`).")
ORGANIZATION_ID = OpenApiParameter(
    "organization_id", OpenApiTypes.UUID,
    description="An organization the caller sees (a dealer: an operator that granted it access). Default: the "
                "API key's organization (browser session: the active one).")
NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The revision number.")
KEY = OpenApiParameter("key", OpenApiTypes.INT, OpenApiParameter.PATH,
                       description="The VAT key (UST_SCHLUESSEL, `vat_definition_export_id`).")
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION (details by field), E_VAT_KEY_RESERVED, E_ORGANIZATION_REQUIRED."),
    403: OpenApiResponse(description="E_PERMISSION_DENIED (needs `configure`), E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND: no such client, cash register, revision or VAT key the caller "
                                     "sees."),
    409: OpenApiResponse(description="E_CASH_REGISTER_DECOMMISSIONED, E_VAT_KEY_IN_USE."),
}
API_FIELDS = {"client": "client_id", "outlet": "outlet_id", "pos_system_version": "pos_system_version_id",
              "base_currency": "base_currency_code", "no_vat_assignment": "processing_flags",
              "rate": "percentage", "description": "description", "slot": "slot", "key": "vat_definition_export_id"}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


def _unix(value) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _call(function, **kwargs):
    """Run a service; field errors become 400 E_VALIDATION with details by API field, refusals their code."""
    try:
        return function(**kwargs)
    except DjangoValidationError as exc:
        details = {API_FIELDS.get(name, name): [str(m) for m in messages]
                   for name, messages in exc.message_dict.items()}
        first = next(iter(details.values()))[0]
        raise ApiError(400, "E_VALIDATION", f"Invalid input: {first}", details) from exc
    except service.MasterDataError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo must not be silently ignored)."""

    def to_internal_value(self, data):
        unknown = set(data) - set(self.fields) if isinstance(data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
        return super().to_internal_value(data)


# --- serializers ------------------------------------------------------------------------------


class ProcessingFlagsSerializer(StrictSerializer):
    UmsatzsteuerNichtErmittelbar = serializers.BooleanField(
        help_text="KEINE_UST_ZUORDNUNG: the register cannot determine the VAT of its sales.")


class CashRegisterWriteSerializer(StrictSerializer):
    outlet_id = serializers.UUIDField(required=False, help_text="One of the operator's open outlets. Required on "
                                                                "creation.")
    pos_system_version_id = serializers.UUIDField(
        required=False, help_text="A version of a non-retired POS system of the catalogue. Required on creation.")
    base_currency_code = serializers.CharField(required=False, help_text="ISO 4217, default EUR.")
    processing_flags = ProcessingFlagsSerializer(required=False)


class SoftwareSerializer(serializers.Serializer):
    brand = serializers.CharField()
    version = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    path = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class CashRegisterSerializer(serializers.Serializer):
    """A cash register as the API answers it."""

    _id = serializers.UUIDField(help_text="The portal's id of the cash register.")
    _type = serializers.CharField()
    client_id = serializers.UUIDField()
    tss_id = serializers.UUIDField()
    serial_number = serializers.CharField(help_text="Z_KASSE_ID / KASSE_SERIENNR (the client's serial number).")
    state = serializers.ChoiceField(choices=[("ACTIVE", "ACTIVE"), ("DECOMMISSIONED", "DECOMMISSIONED")])
    outlet_id = serializers.UUIDField()
    pos_system_version_id = serializers.UUIDField()
    brand = serializers.CharField()
    model = serializers.CharField()
    software = SoftwareSerializer()
    base_currency_code = serializers.CharField()
    processing_flags = ProcessingFlagsSerializer()
    revision = serializers.IntegerField(allow_null=True, help_text="The latest master-data revision (null: none).")
    master_data_changed_while_closing_due = serializers.BooleanField(
        help_text="The master data changed since the latest revision and a closing is due.")
    master_data_problems = ProblemSerializer(many=True, help_text="What the DSFinV-K columns cannot hold; a "
                                                                  "closing is refused while there are any.")
    master_data = serializers.JSONField(required=False,
                                        help_text="The current master data as DSFinV-K columns (detail only).")
    time_creation = serializers.IntegerField()
    time_update = serializers.IntegerField()
    time_decommissioned = serializers.IntegerField(allow_null=True)


class RevisionSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    time_creation = serializers.IntegerField()
    digest = serializers.CharField(help_text="SHA-256 of the canonical JSON of the data.")
    closing_count = serializers.IntegerField(help_text="Accepted closings exported with this revision.")
    data = serializers.JSONField(required=False, help_text="The master data as DSFinV-K columns (detail only).")
    changes = serializers.JSONField(required=False,
                                    help_text="[{path, old, new}] against the previous revision (detail only).")


class VatDefinitionSerializer(serializers.Serializer):
    vat_definition_export_id = serializers.IntegerField(help_text="UST_SCHLUESSEL.")
    percentage = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="UST_SATZ (today's rate).")
    description = serializers.CharField(help_text="UST_BESCHR.")
    slot = serializers.ChoiceField(choices=VatSlot.choices, help_text="The processData slot of the key.")
    system = serializers.BooleanField(help_text="A key of DSFinV-K Anlage 2 (read-only).")
    time_creation = serializers.IntegerField(allow_null=True)
    time_update = serializers.IntegerField(allow_null=True)


class VatDefinitionListSerializer(serializers.Serializer):
    """All VAT keys at once, in the envelope of the paged lists (``next``/``previous`` always null)."""

    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = VatDefinitionSerializer(many=True)


class VatDefinitionWriteSerializer(StrictSerializer):
    percentage = serializers.DecimalField(max_digits=None, decimal_places=None, coerce_to_string=False,
                                          help_text="0–100, at most two decimals.")
    description = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="At most 55 characters.")
    slot = serializers.ChoiceField(choices=VatSlot.choices, help_text="The processData slot (Kassenbeleg-V1).")


# --- data -------------------------------------------------------------------------------------


def cash_register_data(register: CashRegister, *, with_master_data: bool = True) -> dict:
    status = service.register_status(register)
    version = register.pos_system_version
    data = {
        "_id": str(register.public_id),
        "_type": "CASH_REGISTER",
        "client_id": str(register.client.public_id),
        "tss_id": str(register.client.signing_unit.public_id),
        "serial_number": register.kasse_id,
        "state": "DECOMMISSIONED" if register.decommissioned_at else "ACTIVE",
        "outlet_id": str(register.outlet.public_id),
        "pos_system_version_id": str(version.public_id),
        "brand": version.pos_system.brand,
        "model": version.pos_system.model,
        "software": {"brand": version.software_name, "version": version.software_version},
        "base_currency_code": register.base_currency,
        "processing_flags": {FLAG: register.no_vat_assignment},
        "revision": status.latest.number if status.latest is not None else None,
        "master_data_changed_while_closing_due": status.pending_change,
        "master_data_problems": status.problems,
        "time_creation": _unix(register.created_at),
        "time_update": _unix(register.updated_at),
        "time_decommissioned": _unix(register.decommissioned_at),
    }
    if with_master_data:
        data["master_data"] = status.data
    return data


def _revision_data(revision: MasterDataRevision, *, previous=None, detail=False) -> dict:
    data = {"revision": revision.number, "time_creation": _unix(revision.created_at), "digest": revision.digest,
            "closing_count": revision.closing_count}
    if detail:
        data["data"] = revision.data
        data["changes"] = diff_master_data(previous.data if previous is not None else None, revision.data)
    return data


def vat_definition_data(row) -> dict:
    if isinstance(row, VatDefinition):
        return {"vat_definition_export_id": row.key, "percentage": str(row.rate), "description": row.description,
                "slot": row.slot, "system": False, "time_creation": _unix(row.created_at),
                "time_update": _unix(row.updated_at)}
    return {"vat_definition_export_id": row.key, "percentage": str(row.rate_on(timezone.localdate())),
            "description": row.description, "slot": row.slot, "system": True, "time_creation": None,
            "time_update": None}


# --- views ------------------------------------------------------------------------------------


class MasterDataApiMixin(GenericAPIView):
    """Capability checks and the organization of a request (see the module docstring)."""

    queryset = CashRegister.objects.none()
    read_capability = "view_master_data"

    @property
    def actor(self):
        return self.request._request.actor

    def capability(self) -> str:
        return self.read_capability if self.request.method in SAFE_METHODS else "configure"

    def require(self, organization) -> None:
        if not self.actor.can(organization.pk, self.capability()):
            raise PermissionDenied

    def get_organization(self) -> Organization:
        named = named_organization(self.request, self.actor, self.capability())
        if named is not None:
            return named
        organization = default_organization(self.request, self.actor)
        self.require(organization)
        return organization

    def get_client(self) -> TseClient:
        client = (TseClient.objects.select_related("organization", "signing_unit")
                  .filter(public_id=self.kwargs["client_id"]).first())
        if client is None:
            raise NotFound
        self.require(client.organization)
        return client

    def get_register(self) -> CashRegister:
        register = _registers().filter(client=self.get_client()).first()
        if register is None:
            raise NotFound
        return register


def _registers():
    return CashRegister.objects.select_related("client__signing_unit", "outlet", "pos_system_version__pos_system",
                                               "organization")


class CashRegisterListView(MasterDataApiMixin):
    serializer_class = CashRegisterSerializer

    @extend_schema(tags=TAGS, operation_id="dsfinvk_cash_register_list", parameters=[ORGANIZATION_ID],
                   responses={200: CashRegisterSerializer(many=True), **_errors(400, 403, 404)},
                   description="The cash registers of the organization (without the full master data).")
    def get(self, request, *args, **kwargs):
        organization = self.get_organization()
        page = self.paginate_queryset(_registers().filter(organization=organization).order_by("client__client_id",
                                                                                               "pk"))
        return self.get_paginated_response([cash_register_data(row, with_master_data=False) for row in page])


CASH_REGISTER_EXAMPLE = OpenApiExample("Create or change", request_only=True, value={
    "outlet_id": "0b0c8f7e-3f3d-4d0e-9d55-5d2a2f4f7c11", "pos_system_version_id":
        "6a3c0e1e-7a53-4a3e-8a4e-0f3c8d2b9e01", "base_currency_code": "EUR",
    "processing_flags": {FLAG: False}})


class CashRegisterDetailView(MasterDataApiMixin):
    serializer_class = CashRegisterSerializer
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="dsfinvk_cash_register_retrieve", parameters=[CLIENT_ID],
                   responses={200: CashRegisterSerializer, **_errors(404)},
                   description="One cash register with its current master data (DSFinV-K columns).")
    def get(self, request, *args, **kwargs):
        return Response(cash_register_data(self.get_register()))

    @extend_schema(
        tags=TAGS, operation_id="dsfinvk_cash_register_upsert", parameters=[CLIENT_ID],
        request=CashRegisterWriteSerializer, examples=[CASH_REGISTER_EXAMPLE],
        responses={201: CashRegisterSerializer, 200: CashRegisterSerializer, **_errors(400, 403, 404, 409)},
        description="Make the POS client a cash register (201; `outlet_id` and `pos_system_version_id` required) "
                    "or change one (200; fields left out keep their value). The client's serial number must not "
                    "contain `/` or `_`. A change is captured as a new revision with the next closing.",
    )
    def put(self, request, *args, **kwargs):
        client = self.get_client()
        payload = CashRegisterWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        organization = client.organization
        fields = {}
        if "outlet_id" in data:
            fields["outlet"] = Outlet.unscoped.filter(organization=organization, public_id=data["outlet_id"]).first()
        if "pos_system_version_id" in data:
            fields["pos_system_version"] = (PosSystemVersion.unscoped.select_related("pos_system")
                                            .filter(public_id=data["pos_system_version_id"]).first())
        if "base_currency_code" in data:
            fields["base_currency"] = data["base_currency_code"]
        if "processing_flags" in data:
            fields["no_vat_assignment"] = data["processing_flags"][FLAG]
        register = CashRegister.unscoped.filter(client=client).first()
        if register is not None:
            _call(service.update_cash_register, actor=self.actor, cash_register=register, changes=fields)
            return Response(cash_register_data(_registers().get(pk=register.pk)))
        missing = [name for name in ("outlet_id", "pos_system_version_id") if name not in data]
        if missing:
            raise ApiError(400, "E_VALIDATION", str(_("Invalid input: this field is required to create a cash "
                                                      "register.")),
                           {name: [str(_("This field is required."))] for name in missing})
        register = _call(service.create_cash_register, actor=self.actor, organization=organization, client=client,
                         **fields)
        return Response(cash_register_data(_registers().get(pk=register.pk)), status=201)


def _revisions(register):
    return (MasterDataRevision.objects.filter(cash_register=register)
            .annotate(closing_count=Count("closings", filter=Q(closings__state=ClosingState.COMPLETED))))


class RevisionListView(MasterDataApiMixin):
    serializer_class = RevisionSerializer

    @extend_schema(tags=TAGS, operation_id="dsfinvk_cash_register_revision_list", parameters=[CLIENT_ID],
                   responses={200: RevisionSerializer(many=True), **_errors(404)},
                   description="The master-data revisions of the cash register, newest first.")
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(_revisions(self.get_register()).order_by("-number", "-pk"))
        return self.get_paginated_response([_revision_data(row) for row in page])


class RevisionDetailView(MasterDataApiMixin):
    serializer_class = RevisionSerializer

    @extend_schema(tags=TAGS, operation_id="dsfinvk_cash_register_revision_retrieve", parameters=[CLIENT_ID, NUMBER],
                   responses={200: RevisionSerializer, **_errors(404)},
                   description="One revision: its data and the changes against the previous revision.")
    def get(self, request, *args, **kwargs):
        register = self.get_register()
        revision = _revisions(register).filter(number=self.kwargs["number"]).first()
        if revision is None:
            raise NotFound
        previous = (MasterDataRevision.objects.filter(cash_register=register, number__lt=revision.number)
                    .order_by("-number").first())
        return Response(_revision_data(revision, previous=previous, detail=True))


class VatDefinitionListView(MasterDataApiMixin):
    serializer_class = VatDefinitionSerializer
    pagination_class = None

    @extend_schema(tags=TAGS, operation_id="dsfinvk_vat_definition_list", parameters=[ORGANIZATION_ID],
                   responses={200: VatDefinitionListSerializer, **_errors(400, 403, 404)},
                   description="The VAT keys: DSFinV-K Anlage 2 (with today's rate), then the organization's own "
                               "(≥ 1000). Not paged: `next`/`previous` are always null.")
    def get(self, request, *args, **kwargs):
        organization = self.get_organization()
        own = VatDefinition.objects.filter(organization=organization).order_by("key")
        rows = [vat_definition_data(row) for row in (*SYSTEM_VAT_KEYS, *own)]
        return Response({"count": len(rows), "next": None, "previous": None, "results": rows})


VAT_EXAMPLE = OpenApiExample("Own key", request_only=True,
                             value={"percentage": "10.70", "description": "Durchschnittsatz Landwirtschaft",
                                    "slot": "SPECIAL_RATE_1"})


class VatDefinitionDetailView(MasterDataApiMixin):
    serializer_class = VatDefinitionSerializer
    http_method_names = ["get", "put", "delete", "head", "options"]

    def _row(self, organization):
        key = self.kwargs["key"]
        system = next((row for row in SYSTEM_VAT_KEYS if row.key == key), None)
        return system or VatDefinition.objects.filter(organization=organization, key=key).first()

    @extend_schema(tags=TAGS, operation_id="dsfinvk_vat_definition_retrieve", parameters=[KEY, ORGANIZATION_ID],
                   responses={200: VatDefinitionSerializer, **_errors(404)}, description="One VAT key.")
    def get(self, request, *args, **kwargs):
        row = self._row(self.get_organization())
        if row is None:
            raise NotFound
        return Response(vat_definition_data(row))

    @extend_schema(
        tags=TAGS, operation_id="dsfinvk_vat_definition_upsert", parameters=[KEY, ORGANIZATION_ID],
        request=VatDefinitionWriteSerializer, examples=[VAT_EXAMPLE],
        responses={201: VatDefinitionSerializer, 200: VatDefinitionSerializer, **_errors(400, 403, 404)},
        description="Create (201) or change (200) an own VAT key (≥ 1000; lower keys: 400 E_VAT_KEY_RESERVED). "
                    "A change is captured as a new master-data revision with the next closing.",
    )
    def put(self, request, *args, **kwargs):
        organization = self.get_organization()
        payload = VatDefinitionWriteSerializer(data=request.data)
        _call(service.check_own_vat_key, key=self.kwargs["key"])
        payload.is_valid(raise_exception=True)
        definition, created = _call(service.save_vat_definition, actor=self.actor, organization=organization,
                                    key=self.kwargs["key"], rate=payload.validated_data["percentage"],
                                    description=payload.validated_data["description"],
                                    slot=payload.validated_data["slot"])
        return Response(vat_definition_data(definition), status=201 if created else 200)

    @extend_schema(tags=TAGS, operation_id="dsfinvk_vat_definition_delete", parameters=[KEY, ORGANIZATION_ID],
                   responses={204: None, **_errors(400, 403, 404, 409)},
                   description="Delete an own VAT key that no accepted closing uses (409 E_VAT_KEY_IN_USE).")
    def delete(self, request, *args, **kwargs):
        organization = self.get_organization()
        row = self._row(organization)
        if row is None:
            raise NotFound
        if not isinstance(row, VatDefinition):
            raise ApiError(400, "E_VAT_KEY_RESERVED", _("The VAT keys of DSFinV-K Anlage 2 cannot be deleted."))
        _call(service.delete_vat_definition, actor=self.actor, vat_definition=row)
        return Response(status=204)


urlpatterns = [
    path("cash_registers", CashRegisterListView.as_view(), name="dsfinvk-cash-register-list"),
    path("cash_registers/<uuid:client_id>", CashRegisterDetailView.as_view(), name="dsfinvk-cash-register-detail"),
    path("cash_registers/<uuid:client_id>/revisions", RevisionListView.as_view(),
         name="dsfinvk-cash-register-revision-list"),
    path("cash_registers/<uuid:client_id>/revisions/<int:number>", RevisionDetailView.as_view(),
         name="dsfinvk-cash-register-revision-detail"),
    path("vat_definitions", VatDefinitionListView.as_view(), name="dsfinvk-vat-definition-list"),
    path("vat_definitions/<int:key>", VatDefinitionDetailView.as_view(), name="dsfinvk-vat-definition-detail"),
]
