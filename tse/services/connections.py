"""Signing units of TSEs outside this process: a LAN TSE in the shop's network, a fiskaly TSS.

- ``create_lan_signing_unit`` creates a unit with backend ``lan`` and its ``LanTseConnection``
  (host, port, the TSE's API token stored AES-GCM encrypted with purpose ``lan-tse-token``, the
  TSE serial number). The token is never returned, shown or written to the audit log.
- ``update_lan_connection`` changes host, port, the maximum number of clients and, when a new
  one is given, the token.
- ``create_fiskaly_signing_unit`` creates a unit with backend ``fiskaly``; only possible when the
  portal has a fiskaly account (``settings.FISKALY_API_KEY``).

Kassenportal ships no LAN-TSE device driver: the wire protocol of LAN TSEs is not public. A LAN
unit signs only where a worker in the shop's network serves its queue ``tse.<public_id>``
(``lan_worker_command``) with a driver registered through
``tse.services.signing_units.register_backend(BackendType.LAN, …)``; elsewhere signing fails with
``E_BACKEND_UNAVAILABLE``.
"""

import ipaddress
import re

from django.conf import settings
from django.db import IntegrityError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal import crypto
from portal.services.audit import log_action, register_action_labels
from tenants.services.configuration.versions import configuration_change
from tse.backends.base import TseError
from tse.models import BackendType, ClientState, LanTseConnection, SigningUnit, SigningUnitMode, TseClient
from tse.models.connections import DEFAULT_LAN_TSE_PORT
from tse.services.routing import signing_queue
from tse.services.signing_units import create_signing_unit

__all__ = [
    "LAN_TOKEN_MAX_LENGTH",
    "LAN_TOKEN_PURPOSE",
    "MAX_LAN_CLIENTS",
    "LanConnectionError",
    "create_fiskaly_signing_unit",
    "create_lan_signing_unit",
    "fiskaly_configured",
    "lan_token",
    "lan_worker_command",
    "normalize_host",
    "normalize_tse_serial",
    "update_lan_connection",
]

LAN_TOKEN_PURPOSE = "lan-tse-token"
LAN_TOKEN_MAX_LENGTH = 512
MAX_LAN_CLIENTS = 999

register_action_labels({
    "tse.lan_connection.created": _("LAN TSE connection created"),
    "tse.lan_connection.updated": _("LAN TSE connection changed"),
})

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SERIAL = re.compile(r"^[0-9a-f]{64}$")


class LanConnectionError(TseError):
    """A refused connection change; ``field`` names the input it is about (or None)."""

    def __init__(self, code: str, message, *, status: int = 400, field: str | None = None):
        super().__init__(code, message, status=status)
        self.field = field


def _invalid(field: str, message) -> LanConnectionError:
    return LanConnectionError("E_VALIDATION", message, status=400, field=field)


def normalize_host(host) -> str:
    """A DNS name (RFC 1123 labels, lower-cased) or an IPv4/IPv6 literal; no scheme, path, port or space."""
    if not isinstance(host, str) or not host:
        raise _invalid("host", gettext("Enter the host name or IP address of the TSE."))
    if any(char.isspace() for char in host):
        raise _invalid("host", gettext("The host must not contain spaces."))
    if "://" in host:
        raise _invalid("host", gettext("Enter the host without a scheme such as https://."))
    if "/" in host or "?" in host or "#" in host or "@" in host:
        raise _invalid("host", gettext("Enter only the host, without a path."))
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        address = None
    if address is not None:
        if literal != host and address.version != 6:
            raise _invalid("host", gettext("Only IPv6 addresses may be written in brackets."))
        return str(address)
    if ":" in host or "[" in host or "]" in host:
        raise _invalid("host", gettext("Enter the port in its own field, not in the host."))
    name = host[:-1] if host.endswith(".") else host
    name = name.lower()
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise _invalid("host", gettext("Enter a valid host name (letters, digits and hyphens, separated by dots) "
                                       "or an IP address."))
    return name


def normalize_tse_serial(serial) -> str:
    """The TSE serial number: the hex SHA-256 of its public key, 64 hex digits, lower-cased."""
    value = serial.strip().lower() if isinstance(serial, str) else ""
    if not _SERIAL.match(value):
        raise _invalid("tse_serial_number", gettext(
            "The TSE serial number is the hex SHA-256 of its public key: exactly 64 hex digits (0-9, a-f)."))
    return value


def _port(port) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _invalid("port", gettext("The port must be a number from 1 to 65535."))
    return port


def _max_clients(max_clients) -> int:
    if isinstance(max_clients, bool) or not isinstance(max_clients, int) or not 1 <= max_clients <= MAX_LAN_CLIENTS:
        raise _invalid("max_clients", gettext("The maximum number of clients must be a number from 1 to 999."))
    return max_clients


def _token(token) -> str:
    value = token.strip() if isinstance(token, str) else ""
    if not value:
        raise _invalid("token", gettext("Enter the API token of the TSE."))
    if len(value) > LAN_TOKEN_MAX_LENGTH:
        raise _invalid("token", gettext("The API token must not be longer than 512 characters."))
    return value


def _encrypt_token(token: str) -> bytes:
    return crypto.encrypt(token.encode(), LAN_TOKEN_PURPOSE)


def lan_token(connection: LanTseConnection) -> str:
    """The API token in clear, for the device driver of a shop worker only; never show or log it."""
    return crypto.decrypt(bytes(connection.encrypted_token), LAN_TOKEN_PURPOSE).decode()


def _serial_taken() -> LanConnectionError:
    return LanConnectionError("E_SERIAL_TAKEN", gettext("A signing unit with this TSE serial number already exists."),
                           status=409, field="tse_serial_number")


def lan_worker_command(signing_unit: SigningUnit) -> str:
    """The command a worker in the shop's network runs to serve this unit's signing queue."""
    return f"celery -A portal worker -Q {signing_queue(signing_unit)} --concurrency 1"


def create_lan_signing_unit(*, actor, organization, host, port=DEFAULT_LAN_TSE_PORT, token, tse_serial_number,
                            max_clients=3, outlet=None, description: str = "",
                            mode: str = SigningUnitMode.LIVE, reference: str = "") -> SigningUnit:
    """A new LAN TSE unit (state ``uninitialized``) of ``organization`` with its connection."""
    host = normalize_host(host)
    port = _port(port)
    token = _token(token)
    serial = normalize_tse_serial(tse_serial_number)
    max_clients = _max_clients(max_clients)
    if mode not in SigningUnitMode.values:
        raise _invalid("mode", gettext("Unknown mode."))
    if SigningUnit.unscoped.filter(serial_number=serial).exists():
        raise _serial_taken()
    try:
        with configuration_change(actor, organization):
            unit = create_signing_unit(actor=actor, organization=organization, backend=BackendType.LAN,
                                       outlet=outlet, mode=mode, max_clients=max_clients, description=description,
                                       reference=reference)
            SigningUnit.unscoped.filter(pk=unit.pk).update(serial_number=serial)
            unit.serial_number = serial
            connection = LanTseConnection.unscoped.create(
                signing_unit=unit, organization=organization, host=host, port=port,
                encrypted_token=_encrypt_token(token), tse_serial_number=serial)
            log_action("tse.lan_connection.created", actor, organization, unit,
                       data={"host": host, "port": port, "tse_serial_number": serial, "max_clients": max_clients})
    except IntegrityError:  # the serial number was taken concurrently (unique constraint)
        raise _serial_taken() from None
    unit.lan_connection = connection
    return unit


def update_lan_connection(*, actor, signing_unit: SigningUnit, host, port, token=None,
                          max_clients) -> LanTseConnection:
    """Change host, port and maximum clients; the token only when a new one is given (None/blank keeps it)."""
    if signing_unit.backend != BackendType.LAN:
        raise LanConnectionError("E_NOT_A_LAN_TSE", gettext("This signing unit is not a LAN TSE."), status=409)
    host = normalize_host(host)
    port = _port(port)
    max_clients = _max_clients(max_clients)
    new_token = _token(token) if isinstance(token, str) and token.strip() else None
    registered = TseClient.unscoped.filter(signing_unit=signing_unit, state=ClientState.REGISTERED).count()
    if max_clients < registered:
        raise _invalid("max_clients", gettext(
            "{registered} POS are registered at this TSE; the maximum cannot be lower.").format(registered=registered))
    with configuration_change(actor, signing_unit.organization):
        connection = LanTseConnection.unscoped.select_for_update().get(signing_unit=signing_unit)
        changed = [name for name, value in (("host", host), ("port", port)) if getattr(connection, name) != value]
        if signing_unit.max_clients != max_clients:
            changed.append("max_clients")
        if new_token is not None:
            changed.append("token")
            connection.encrypted_token = _encrypt_token(new_token)
        connection.host, connection.port = host, port
        connection.save()
        SigningUnit.unscoped.filter(pk=signing_unit.pk).update(max_clients=max_clients)
        signing_unit.max_clients = max_clients
        log_action("tse.lan_connection.updated", actor, signing_unit.organization, signing_unit,
                   data={"host": host, "port": port, "max_clients": max_clients, "changed": changed})
    return connection


def fiskaly_configured() -> bool:
    return bool(getattr(settings, "FISKALY_API_KEY", ""))


def create_fiskaly_signing_unit(*, actor, organization, outlet=None, description: str = "",
                                mode: str = SigningUnitMode.LIVE, max_clients: int | None = None,
                                reference: str = "") -> SigningUnit:
    """A new fiskaly unit; refused (503 ``E_BACKEND_NOT_CONFIGURED``) without the portal's fiskaly account."""
    if not fiskaly_configured():
        raise LanConnectionError("E_BACKEND_NOT_CONFIGURED",
                              gettext("fiskaly is not configured for this portal."), status=503)
    return create_signing_unit(actor=actor, organization=organization, backend=BackendType.FISKALY, outlet=outlet,
                               mode=mode, max_clients=max_clients, description=description, reference=reference)
