"""Serializers of the POS signing API: request bodies and the documented answers."""

import base64
import re

from cryptography.hazmat.primitives import serialization
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tse.models import ClientState, Curve, TransactionState
from tse.services.signing import open_transaction_limit, tss_state

__all__ = [
    "AdminAuthSerializer",
    "AdminPinSerializer",
    "ClientCreateSerializer",
    "ClientSerializer",
    "TransactionListFilterSerializer",
    "TransactionQuerySerializer",
    "TransactionRequestSerializer",
    "TransactionSerializer",
    "TssCreateSerializer",
    "TssSerializer",
    "TssUpdateSerializer",
    "client_data",
    "tss_data",
]

DESCRIPTION_RE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]{0,100}$")
API_STATES = ("CREATED", "UNINITIALIZED", "INITIALIZED", "DISABLED")


def _validate_metadata(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError(_("Enter an object."))
    if len(value) > 40:
        raise serializers.ValidationError(_("At most 40 metadata entries are allowed."))
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise serializers.ValidationError(
                _("Metadata keys have at most 40 characters and values are texts of at most 500 characters."))
    return value


class TssCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=100, allow_blank=True)
    curve = serializers.ChoiceField(choices=Curve.choices, required=False)
    metadata = serializers.DictField(child=serializers.CharField(max_length=500, allow_blank=True), required=False,
                                     validators=[_validate_metadata])

    def validate_description(self, value):
        if not DESCRIPTION_RE.match(value):
            raise serializers.ValidationError(_("Use at most 100 letters, digits, spaces and ' ( ) + , - . / : = ?"))
        return value


class TssUpdateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=[(s, s) for s in ("UNINITIALIZED", "INITIALIZED", "DISABLED")])


class AdminPinSerializer(serializers.Serializer):
    admin_puk = serializers.CharField(min_length=10, max_length=100)
    new_admin_pin = serializers.CharField(min_length=6, max_length=100)


class AdminAuthSerializer(serializers.Serializer):
    admin_pin = serializers.CharField(min_length=1, max_length=100)


class TssSerializer(serializers.Serializer):
    """A TSS as answered by the API (``admin_puk`` only in the creating answer)."""

    _id = serializers.UUIDField()
    _type = serializers.CharField()
    description = serializers.CharField()
    state = serializers.ChoiceField(choices=[(s, s) for s in API_STATES])
    serial_number = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the uncompressed public point.")
    certificate = serializers.CharField(help_text="Base64 of the DER certificate.")
    signature_algorithm = serializers.CharField()
    signature_timestamp_format = serializers.CharField()
    transaction_data_encoding = serializers.CharField()
    signature_counter = serializers.IntegerField()
    transaction_counter = serializers.IntegerField()
    number_registered_clients = serializers.IntegerField()
    max_number_registered_clients = serializers.IntegerField()
    number_active_transactions = serializers.IntegerField()
    max_number_active_transactions = serializers.IntegerField()
    metadata = serializers.DictField(child=serializers.CharField())
    time_creation = serializers.IntegerField()
    admin_puk = serializers.CharField(required=False, help_text="Shown once, in the answer that created the TSS.")


def _b64_point(unit) -> str:
    if not unit.public_key:
        return ""
    key = serialization.load_der_public_key(bytes(unit.public_key))
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.b64encode(point).decode("ascii")


def _b64_certificate(unit) -> str:
    if not unit.certificate:
        return ""
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(unit.certificate.encode("ascii"))
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def tss_data(unit, *, admin_puk: str | None = None) -> dict:
    from tse.models import ApiTransaction, TseClient

    admin = getattr(unit, "api_admin", None)
    data = {
        "_id": str(unit.public_id),
        "_type": "TSS",
        "description": unit.description,
        "state": tss_state(unit),
        "serial_number": unit.serial_number,
        "public_key": _b64_point(unit),
        "certificate": _b64_certificate(unit),
        "signature_algorithm": unit.signature_algorithm,
        "signature_timestamp_format": "unixTime",
        "transaction_data_encoding": "UTF-8",
        "signature_counter": unit.signature_counter,
        "transaction_counter": unit.transaction_counter,
        "number_registered_clients": TseClient.unscoped.filter(signing_unit=unit, state=ClientState.REGISTERED).count(),
        "max_number_registered_clients": unit.max_clients,
        "number_active_transactions": ApiTransaction.unscoped.filter(
            signing_unit=unit, state=TransactionState.ACTIVE).count(),
        "max_number_active_transactions": open_transaction_limit(),
        "metadata": admin.metadata if admin is not None else {},
        "time_creation": int(unit.created_at.timestamp()),
    }
    if admin_puk is not None:
        data["admin_puk"] = admin_puk
    return data


class ClientCreateSerializer(serializers.Serializer):
    serial_number = serializers.CharField(min_length=1, max_length=30)
    metadata = serializers.DictField(child=serializers.CharField(max_length=500, allow_blank=True), required=False,
                                     validators=[_validate_metadata])


class ClientSerializer(serializers.Serializer):
    _id = serializers.UUIDField()
    _type = serializers.CharField()
    serial_number = serializers.CharField()
    state = serializers.ChoiceField(choices=[("REGISTERED", "REGISTERED"), ("DEREGISTERED", "DEREGISTERED")])
    tss_id = serializers.UUIDField()
    time_creation = serializers.IntegerField()


def client_data(client) -> dict:
    return {
        "_id": str(client.public_id),
        "_type": "CLIENT",
        "serial_number": client.client_id,
        "state": client.state.upper(),
        "tss_id": str(client.signing_unit.public_id),
        "time_creation": int(client.created_at.timestamp()),
    }


class TransactionQuerySerializer(serializers.Serializer):
    tx_revision = serializers.IntegerField(min_value=1)


class OptionalRevisionSerializer(serializers.Serializer):
    tx_revision = serializers.IntegerField(min_value=1, required=False)


class TransactionListFilterSerializer(serializers.Serializer):
    states = serializers.ListField(child=serializers.CharField(), required=False)

    def validate_states(self, value):
        unknown = sorted(set(value) - set(TransactionState.values))
        if unknown:
            raise serializers.ValidationError(_("Unknown states: %(states)s") % {"states": ", ".join(unknown)})
        return value


class TransactionRequestSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=TransactionState.values)
    client_id = serializers.UUIDField()
    schema = serializers.JSONField(required=False, help_text='{"standard_v1": {"receipt": {...}}}')
    metadata = serializers.DictField(child=serializers.CharField(max_length=500, allow_blank=True), required=False,
                                     validators=[_validate_metadata])

    def validate_schema(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Enter an object."))
        return value


class TransactionSignatureSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="Base64 of the plain r‖s signature.")
    algorithm = serializers.CharField()
    counter = serializers.IntegerField()
    public_key = serializers.CharField(help_text="Base64 of the uncompressed public point.")


class LogSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=[("Start", "Start"), ("Update", "Update"), ("Finish", "Finish")])
    timestamp_format = serializers.CharField()
    timestamp = serializers.IntegerField()


class SigningErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TransactionSerializer(serializers.Serializer):
    """A transaction revision as answered; unsigned answers have ``signature: null`` and an ``error``."""

    _id = serializers.UUIDField()
    _type = serializers.CharField()
    number = serializers.IntegerField(allow_null=True)
    state = serializers.CharField(help_text="ACTIVE, FINISHED or CANCELLED.")
    revision = serializers.IntegerField()
    latest_revision = serializers.IntegerField()
    tss_id = serializers.UUIDField()
    tss_serial_number = serializers.CharField()
    client_id = serializers.UUIDField()
    client_serial_number = serializers.CharField()
    schema = serializers.JSONField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    time_start = serializers.IntegerField(allow_null=True)
    time_end = serializers.IntegerField(allow_null=True)
    signature = TransactionSignatureSerializer(allow_null=True)
    log = LogSerializer(allow_null=True)
    qr_code_data = serializers.CharField(allow_null=True)
    error = SigningErrorSerializer(allow_null=True)
