"""API of the contracts feature: the same services as the pages.

Signing is done by a person: API keys can read contract texts and states but never sign
(``E_USER_REQUIRED`` / missing capability). Evidence (signature history) and framework contracts
are shown to members of the organization only; a partner acting for it gets 404.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.contracts.serializers import (
    ContractVersionSerializer,
    CountersignRequestSerializer,
    FrameworkContractSerializer,
    RoleApplySerializer,
    RoleStateSerializer,
    SignatureSerializer,
    SignContractRequestSerializer,
    version_data,
)
from tenants.models import ContractKind, ContractSignature, FrameworkContract, OrganizationRole, RoleKind
from tenants.services.contracts import (
    CONTRACT_FOR_ROLE,
    ContractError,
    apply_for_role,
    current_version,
    organization_role_states,
    published_version,
    role_state,
    sign_contract,
    signature_history,
    terminate_role,
)
from tenants.services.framework_contracts import countersign_framework_contract

__all__ = [
    "ContractListView",
    "ContractSignView",
    "ContractSignatureListView",
    "ContractTerminateView",
    "ContractVersionView",
    "FrameworkContractCountersignView",
    "FrameworkContractDetailView",
    "FrameworkContractListView",
    "RoleListView",
]

CONTRACT_ERROR_STATUS = {
    "E_CONSENT_REQUIRED": 400,
    "E_NAME_MISMATCH": 400,
    "E_TEXT_CHANGED": 400,
    "E_INVALID_LANGUAGE": 400,
    "E_USER_REQUIRED": 403,
    "E_NO_CONTRACT": 404,
    "E_INVALID_ROLE": 404,
    "E_ALREADY_SIGNED": 409,
    "E_NOT_SIGNED": 409,
    "E_ROLE_EXISTS": 409,
    "E_CONTRACT_EXPIRED": 409,
}

ROLE_KIND_PARAMETER = OpenApiParameter(
    "role_kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=RoleKind.values,
    description="creator, dealer or operator",
)
KIND_PARAMETER = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ContractKind.values, description="The contract."
)
ERROR_RESPONSES = {
    400: OpenApiResponse(description="E_CONSENT_REQUIRED, E_NAME_MISMATCH, E_TEXT_CHANGED, E_INVALID_LANGUAGE, "
                                     "E_VALIDATION"),
    403: OpenApiResponse(description="E_PERMISSION_DENIED (no `sign_contracts`), E_USER_REQUIRED (API keys cannot "
                                     "sign)"),
    404: OpenApiResponse(description="E_NOT_FOUND, E_NO_CONTRACT"),
    409: OpenApiResponse(description="E_ALREADY_SIGNED, E_NOT_SIGNED"),
}
SIGN_EXAMPLE = OpenApiExample(
    "Sign in German",
    value={"typed_name": "Olga Owner", "language": "de",
           "text_sha256": "3f6c1b0e9d1f4b8a2c7e5d6a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c", "consent": True},
    request_only=True,
)


def contract_api_error(exc: ContractError) -> ApiError:
    details = {exc.field: [str(exc.message)]} if exc.field else None
    return ApiError(CONTRACT_ERROR_STATUS.get(exc.code, 400), exc.code, exc.message, details)


def client_meta(request) -> dict:
    return {"ip": request.META.get("REMOTE_ADDR"), "user_agent": request.META.get("HTTP_USER_AGENT", "")}


# --- contract texts (not tied to an organization) --------------------------------------------


class ContractListView(APIView):
    """The current version of every role contract, with texts and hashes in German and English."""

    @extend_schema(responses=ContractVersionSerializer(many=True), operation_id="contracts_list")
    def get(self, request):
        versions = [current_version(kind) for kind in ContractKind.values]
        data = [version_data(version) for version in versions if version is not None]
        return Response(ContractVersionSerializer(data, many=True).data)


class ContractVersionView(APIView):
    """Any published version of a contract (old versions stay readable)."""

    @extend_schema(parameters=[KIND_PARAMETER], responses={200: ContractVersionSerializer, 404: OpenApiResponse(
        description="E_NOT_FOUND")}, operation_id="contracts_versions_retrieve")
    def get(self, request, kind, version):
        contract_version = published_version(kind, version) if kind in ContractKind.values else None
        if contract_version is None:
            raise Http404
        return Response(ContractVersionSerializer(version_data(contract_version)).data)


# --- per organization ------------------------------------------------------------------------


class MembersOnlyMixin:
    """Evidence and commercial terms: members (and the organization's API keys) only."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.actor.is_partner_of(self.organization.pk):
            raise Http404


class RoleListView(OrganizationResourceMixin, generics.GenericAPIView):
    """The roles of the organization and the state of their contracts; POST applies for a role."""

    serializer_class = RoleStateSerializer
    queryset = OrganizationRole.objects.none()
    pagination_class = None
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "sign_contracts"}

    @extend_schema(responses=RoleStateSerializer(many=True), operation_id="organizations_roles_list")
    def get(self, request, organization_id):
        states = organization_role_states(self.organization)
        return Response(RoleStateSerializer(states, many=True).data)

    @extend_schema(request=RoleApplySerializer, responses={201: RoleStateSerializer, 409: OpenApiResponse(
        description="E_ROLE_EXISTS")}, operation_id="organizations_roles_apply")
    def post(self, request, organization_id):
        payload = RoleApplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        kind = payload.validated_data["role_kind"]
        try:
            apply_for_role(actor=self.actor, organization=self.organization, role_kind=kind)
        except ContractError as exc:
            raise contract_api_error(exc) from exc
        return Response(RoleStateSerializer(role_state(self.organization, kind)).data, status=status.HTTP_201_CREATED)


class ContractSignatureListView(MembersOnlyMixin, OrganizationResourceMixin, generics.ListAPIView):
    """Every signature and signed termination of the organization, newest first, with its evidence."""

    serializer_class = SignatureSerializer
    queryset = ContractSignature.objects.none()

    def get_queryset(self):
        return signature_history(self.organization)

    @extend_schema(operation_id="organizations_contract_signatures_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _SignatureActionView(OrganizationResourceMixin, generics.GenericAPIView):
    serializer_class = SignatureSerializer
    queryset = ContractSignature.objects.none()
    http_method_names = ["post", "options"]
    capabilities = {"OPTIONS": "view", "POST": "sign_contracts"}
    service = None

    def post(self, request, organization_id, role_kind):
        if role_kind not in CONTRACT_FOR_ROLE:
            raise Http404
        payload = SignContractRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            signature = type(self).service(
                actor=self.actor, organization=self.organization, role_kind=role_kind,
                typed_name=data["typed_name"], language=data["language"], shown_sha256=data["text_sha256"],
                consent=data["consent"], meta=client_meta(request),
            )
        except ContractError as exc:
            raise contract_api_error(exc) from exc
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)


class ContractSignView(_SignatureActionView):
    """Sign the current contract of a role (activates the role). Only people sign, not API keys.

    First read the text and its `text_sha256` from `GET /contracts`; the signature is refused with
    `E_TEXT_CHANGED` if the text changed since. `typed_name` must be the signer's full name."""

    service = staticmethod(sign_contract)

    @extend_schema(parameters=[ROLE_KIND_PARAMETER], request=SignContractRequestSerializer,
                   responses={201: SignatureSerializer, **ERROR_RESPONSES}, examples=[SIGN_EXAMPLE],
                   operation_id="organizations_contracts_sign")
    def post(self, request, organization_id, role_kind):
        return super().post(request, organization_id, role_kind)


class ContractTerminateView(_SignatureActionView):
    """Terminate a role with a signature over the contract version it rests on (see `GET roles`)."""

    service = staticmethod(terminate_role)

    @extend_schema(parameters=[ROLE_KIND_PARAMETER], request=SignContractRequestSerializer,
                   responses={201: SignatureSerializer, **ERROR_RESPONSES}, examples=[SIGN_EXAMPLE],
                   operation_id="organizations_contracts_terminate")
    def post(self, request, organization_id, role_kind):
        return super().post(request, organization_id, role_kind)


class FrameworkContractListView(MembersOnlyMixin, OrganizationResourceMixin, generics.ListAPIView):
    """The dealer's framework contracts (planned volume, discount tiers, credit limit, term)."""

    serializer_class = FrameworkContractSerializer
    queryset = FrameworkContract.objects.none()

    def get_queryset(self):
        return FrameworkContract.objects.filter(organization=self.organization).select_related(
            "organization", "countersigned_by").order_by("-starts_on", "-pk")

    @extend_schema(operation_id="organizations_framework_contracts_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FrameworkContractDetailView(MembersOnlyMixin, OrganizationResourceMixin, generics.RetrieveAPIView):
    serializer_class = FrameworkContractSerializer
    queryset = FrameworkContract.objects.none()
    lookup_field = "public_id"
    lookup_url_kwarg = "contract_id"

    def get_queryset(self):
        return FrameworkContract.objects.filter(organization=self.organization).select_related(
            "organization", "countersigned_by")

    @extend_schema(operation_id="organizations_framework_contracts_retrieve")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FrameworkContractCountersignView(MembersOnlyMixin, OrganizationResourceMixin, generics.GenericAPIView):
    """Countersign a framework contract: typed full name and the SHA-256 of the `document` shown."""

    serializer_class = FrameworkContractSerializer
    queryset = FrameworkContract.objects.none()
    http_method_names = ["post", "options"]
    capabilities = {"OPTIONS": "view", "POST": "view"}  # members only; `sign_contracts` is checked below

    @extend_schema(request=CountersignRequestSerializer,
                   responses={200: FrameworkContractSerializer, **ERROR_RESPONSES},
                   operation_id="organizations_framework_contracts_countersign")
    def post(self, request, organization_id, contract_id):
        contract = get_object_or_404(FrameworkContract.objects.filter(organization=self.organization),
                                     public_id=contract_id)
        if not self.actor.can(self.organization.pk, "sign_contracts"):
            raise PermissionDenied
        payload = CountersignRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            contract = countersign_framework_contract(
                actor=self.actor, contract=contract, typed_name=data["typed_name"],
                shown_sha256=data["text_sha256"], consent=data["consent"], meta=client_meta(request),
            )
        except ContractError as exc:
            raise contract_api_error(exc) from exc
        return Response(FrameworkContractSerializer(contract).data)

