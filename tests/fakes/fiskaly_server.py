"""A local fake of fiskaly SIGN DE v2 that speaks real HTTP on ``127.0.0.1:<free port>``.

It follows the documented contract (``/work/shared/reference/api-conventions.md`` §1), not the
portal's client: auth with api key/secret and refresh tokens (lifetimes can be shortened), the TSS
state machine with admin PIN/PUK (PIN blocked after creation and after 5 failures), clients,
transactions with revisions (replay of the same revision returns the stored result), exports, the
error envelope ``{status_code, error, code, message}`` and a ``request-id`` header on every
response. Signatures are real ECDSA P-256 (``ecdsa-plain-SHA256``) over a simplified message.

Codes the reference does not name are this fake's own choice and marked "(fake)" below.

Fault injection (:meth:`FakeFiskalyServer.inject_error`, :meth:`FakeFiskalyServer.inject_delay`)
applies to the next N matching requests, before any state change for errors and before the
normal handling for delays (so a delayed request still takes effect, like a lost response).

Usage::

    with FakeFiskalyServer() as fake:
        client = FiskalyClient(FiskalyConfig(fake.api_key, fake.api_secret, base_url=fake.base_url))
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

API_PREFIX = "/api/v2"
BSI_CERTIFICATION_ID = "BSI-K-TR-0490-2021"
CERTIFICATE_VALIDITY = dt.timedelta(days=5 * 365)
MAX_BODY = 1024 * 1024
MAX_CLIENTS = 199
MAX_ACTIVE_TX = 2000
_SERIAL_RE = re.compile(r"^[A-Za-z0-9 '()+,\-.:=?]{1,70}$")  # DSFinV-K 2.3: no "/" and no "_"
_DESCRIPTION_RE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]{0,100}$")
_AMOUNT_RE = re.compile(r"^-?\d+(\.\d{2,5})$")
_VAT_ORDER = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
_RECEIPT_TYPES = {
    "RECEIPT": "Beleg",
    "TRAINING": "AVTraining",
    "TRANSFER": "AVTransfer",
    "ORDER": "AVBestellung",
    "CANCELLATION": "AVBelegabbruch",
    "ABORT": "AVBelegabbruch",
    "BENEFIT_IN_KIND": "AVSachbezug",
    "INVOICE": "AVRechnung",
    "OTHER": "AVSonstige",
    "ANNULATION": "AVBelegstorno",
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    423: "Locked",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v2 prefix
    query: list[tuple[str, str]]
    body: Any
    status: int = 0


@dataclass
class _Fault:
    remaining: int
    method: str | None
    path_contains: str | None
    status: int = 0
    code: str = ""
    retry_after: str | None = None
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


@dataclass
class _Tss:
    id: str
    admin_puk: str
    key: ec.EllipticCurvePrivateKey
    public_key_b64: str
    serial_number: str
    certificate_pem: bytes = b""
    state: str = "CREATED"
    admin_pin: str | None = None  # None = blocked right after creation
    pin_failures: int = 0
    pin_blocked: bool = True
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    signature_counter: int = 0
    transaction_counter: int = 0
    time_creation: int = 0
    time_uninit: int | None = None
    time_init: int | None = None
    time_disable: int | None = None
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    txs: dict[str, _Tx] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (signature counter, unix time, TAR member name, signed message) of every signed log (fake)
    logs: list[tuple[int, int, str, bytes]] = field(default_factory=list)


@dataclass
class _Tx:
    id: str
    number: int
    revisions: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (request body, response)


class FakeFiskalyServer:
    def __init__(
        self,
        *,
        api_key: str = "test_api_key",
        api_secret: str = "test_api_secret",
        access_token_ttl: float = 86400.0,
        refresh_token_ttl: float = 172800.0,
        counter_as_string: bool = False,
        env: str = "TEST",
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        # The middleware returns signature.counter as a number; the spec says string.
        self.counter_as_string = counter_as_string
        self.env = env
        self.organization_id = str(uuid.uuid4())
        self.requests: list[RecordedRequest] = []
        self.auth_grants: list[str] = []  # "api_key" | "refresh_token", one per successful /auth
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._faults: list[_Fault] = []
        self._access_tokens: dict[str, float] = {}
        self._refresh_tokens: dict[str, float] = {}
        self._admin_sessions: set[tuple[str, str]] = set()  # (access token, tss id)
        self._tss: dict[str, _Tss] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeFiskalyServer:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes injected delays
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()  # joins the handler threads
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeFiskalyServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    # --- test hooks --------------------------------------------------------------------

    def inject_error(
        self,
        status: int,
        *,
        count: int = 1,
        code: str | None = None,
        retry_after: str | float | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (no state change)."""
        default_code = {429: "E_TOO_MANY_REQUESTS", 500: "E_INTERNAL", 503: "E_TSS_LOCKED"}.get(status, "E_INJECTED")
        with self._lock:
            self._faults.append(
                _Fault(
                    count,
                    method,
                    path_contains,
                    status=status,
                    code=code or default_code,
                    retry_after=None if retry_after is None else str(retry_after),
                )
            )

    def inject_delay(
        self, seconds: float, *, count: int = 1, method: str | None = None, path_contains: str | None = None
    ) -> None:
        """Delay the next ``count`` matching requests by ``seconds``, then handle them normally."""
        with self._lock:
            self._faults.append(_Fault(count, method, path_contains, delay=seconds))

    def expire_access_tokens(self) -> None:
        """Every issued access token becomes invalid (as if expired); refresh tokens stay valid."""
        with self._lock:
            self._access_tokens.clear()

    def expire_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh_tokens.clear()

    def calls(self, method: str | None = None, path_contains: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path_contains is None or path_contains in r.path)
            ]

    def tss_state(self, tss_id: str) -> str:
        with self._lock:
            return self._tss[tss_id.lower()].state

    # --- dispatch ----------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return _Fault(0, None, None, fault.status, fault.code, fault.retry_after, fault.delay)
            return None

    def handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = ValueError
        record = RecordedRequest(method, path.removeprefix(API_PREFIX), query, body)
        with self._lock:
            self.requests.append(record)
        try:
            fault = self._take_fault(method, record.path)
            if fault is not None and fault.delay:
                self._stopping.wait(fault.delay)
            elif fault is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                raise ApiError(fault.status, fault.code, "injected fault", extra)
            if not path.startswith(API_PREFIX + "/"):
                raise ApiError(404, "E_NOT_FOUND", "unknown path")
            if len(raw_body) > MAX_BODY:
                raise ApiError(413, "E_PAYLOAD_TOO_LARGE", "body exceeds 1 MB")
            if body is ValueError:
                raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "body is not JSON")
            with self._lock:
                status, payload = self._route(method, record.path, dict(query), query, headers, body)
            record.status = status
            return status, {}, payload
        except ApiError as exc:
            record.status = exc.status
            envelope = {
                "status_code": exc.status,
                "error": _REASONS.get(exc.status, "Error"),
                "code": exc.code,
                "message": exc.message,
            }
            return exc.status, exc.headers, envelope

    def _route(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        query: list[tuple[str, str]],
        headers: Any,
        body: Any,
    ) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts == ["auth"] and method == "POST":
            return 200, self._auth(body)
        token = self._check_bearer(headers)
        body = body if body is not None else {}
        if not isinstance(body, dict):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "body must be an object")
        if len(parts) < 2 or parts[0] != "tss":
            raise ApiError(404, "E_NOT_FOUND", "unknown path")
        tss_id = parts[1].lower()
        rest = parts[2:]
        match method, rest:
            case "PUT", []:
                return 200, self._create_tss(tss_id, body)
            case "GET", []:
                return 200, self._tss_json(self._get_tss(tss_id))
            case "PATCH", []:
                return 200, self._update_tss(token, tss_id, body)
            case "PATCH", ["admin"]:
                return 200, self._change_pin(tss_id, body)
            case "POST", ["admin", "auth"]:
                return 200, self._admin_auth(token, tss_id, body)
            case "POST", ["admin", "logout"]:
                self._get_tss(tss_id)
                self._admin_sessions.discard((token, tss_id))
                return 200, {}
            case "PUT", ["client", client_id]:
                return 200, self._create_client(token, tss_id, client_id.lower(), body)
            case "PATCH", ["client", client_id]:
                return 200, self._update_client(token, tss_id, client_id.lower(), body)
            case "GET", ["client", client_id]:
                return 200, self._client_json(self._get_client(self._get_tss(tss_id), client_id.lower()))
            case "PUT", ["tx", tx_id]:
                return 200, self._upsert_tx(tss_id, tx_id.lower(), params, body)
            case "GET", ["tx", tx_ref]:
                return 200, self._get_tx(tss_id, tx_ref.lower(), params)
            case "GET", ["tx"]:
                return 200, self._list_tx(tss_id, params, query)
            case "PUT", ["export", export_id]:
                return 200, self._trigger_export(tss_id, export_id.lower(), params)
            case "GET", ["export", export_id]:
                return 200, self._retrieve_export(tss_id, export_id.lower())
            case "GET", ["export", export_id, "file"]:
                return 200, self._export_file(tss_id, export_id.lower())
        raise ApiError(404, "E_NOT_FOUND", f"no route for {method} {path}")

    # --- auth --------------------------------------------------------------------------

    def _auth(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "body must be an object")
        now = time.monotonic()
        if "refresh_token" in body:
            expiry = self._refresh_tokens.pop(str(body["refresh_token"]), None)
            if expiry is None or expiry <= now:
                raise ApiError(401, "E_UNAUTHORIZED", "invalid refresh token")
            grant = "refresh_token"
        elif "api_key" in body and "api_secret" in body:
            if body["api_key"] != self.api_key or body["api_secret"] != self.api_secret:
                raise ApiError(401, "E_UNAUTHORIZED", "invalid api key or secret")
            grant = "api_key"
        else:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "api_key/api_secret or refresh_token required")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access_tokens[access] = now + self.access_token_ttl
        self._refresh_tokens[refresh] = now + self.refresh_token_ttl
        self.auth_grants.append(grant)
        wall = time.time()
        return {
            "access_token": access,
            "access_token_claims": {"env": self.env, "organization_id": self.organization_id},
            "access_token_expires_in": self.access_token_ttl,
            "access_token_expires_at": int(wall + self.access_token_ttl),
            "refresh_token": refresh,
            "refresh_token_expires_in": self.refresh_token_ttl,
            "refresh_token_expires_at": int(wall + self.refresh_token_ttl),
        }

    def _check_bearer(self, headers: Any) -> str:
        value = headers.get("Authorization") or ""
        token = value.removeprefix("Bearer ").strip() if value.startswith("Bearer ") else ""
        expiry = self._access_tokens.get(token)
        if not token or expiry is None or expiry <= time.monotonic():
            raise ApiError(401, "E_UNAUTHORIZED", "missing, invalid or expired access token")
        return token

    def _require_admin(self, token: str, tss: _Tss) -> None:
        if tss.pin_blocked:
            raise ApiError(423, "E_ADMIN_PIN_BLOCKED", "admin PIN is blocked; reset it with the PUK")
        if (token, tss.id) not in self._admin_sessions:
            raise ApiError(401, "E_ADMIN_NOT_AUTHENTICATED", "admin login required (fake)")

    # --- TSS ---------------------------------------------------------------------------

    def _get_tss(self, tss_id: str) -> _Tss:
        tss = self._tss.get(tss_id)
        if tss is None:
            raise ApiError(404, "E_TSS_NOT_FOUND", "TSS not found (fake)")
        return tss

    def _system_log(self, tss: _Tss) -> None:
        tss.signature_counter += 1  # system logs consume signature-counter values
        now = int(time.time())
        name = f"Unixt_{now}_Sig-{tss.signature_counter}_Log-Sys_fake.log"
        tss.logs.append((tss.signature_counter, now, name, b"system|%d" % tss.signature_counter))

    def _create_tss(self, tss_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _check_uuid(tss_id)
        tss = self._tss.get(tss_id)
        if tss is not None:
            if tss.state != "CREATED":
                raise ApiError(409, "E_TSS_CONFLICT", "TSS exists in another state")
            return self._tss_json(tss)
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        tss = _Tss(
            id=tss_id,
            admin_puk="".join(secrets.choice("0123456789") for _ in range(10)),
            key=key,
            public_key_b64=base64.b64encode(point).decode(),
            serial_number=hashlib.sha256(point).hexdigest(),
            certificate_pem=_certificate(key, hashlib.sha256(point).hexdigest()),
            metadata=_metadata(body),
            time_creation=int(time.time()),
        )
        self._tss[tss_id] = tss
        return self._tss_json(tss)

    def _tss_json(self, tss: _Tss) -> dict[str, Any]:
        data: dict[str, Any] = {
            "_id": tss.id,
            "_type": "TSS",
            "_env": self.env,
            "_version": "2.1.35",
            "state": tss.state,
            "description": tss.description,
            "serial_number": tss.serial_number,
            "public_key": tss.public_key_b64,
            "certificate": base64.b64encode(tss.certificate_pem).decode(),
            "bsi_certification_id": BSI_CERTIFICATION_ID,
            "signature_algorithm": "ecdsa-plain-SHA256",
            "signature_timestamp_format": "unixTime",
            "transaction_data_encoding": "UTF-8",
            "signature_counter": str(tss.signature_counter),
            "transaction_counter": str(tss.transaction_counter),
            "number_registered_clients": sum(1 for c in tss.clients.values() if c["state"] == "REGISTERED"),
            "max_number_registered_clients": MAX_CLIENTS,
            "number_active_transactions": sum(1 for t in tss.txs.values() if t.revisions[-1][1]["state"] == "ACTIVE"),
            "max_number_active_transactions": MAX_ACTIVE_TX,
            "supported_update_variants": "SIGNED",
            "metadata": dict(tss.metadata),
            "time_creation": tss.time_creation,
        }
        for name in ("time_uninit", "time_init", "time_disable"):
            if getattr(tss, name) is not None:
                data[name] = getattr(tss, name)
        if tss.state == "CREATED":
            data["admin_puk"] = tss.admin_puk
        return data

    def _update_tss(self, token: str, tss_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        if set(body) - {"state", "description", "metadata"} or "state" not in body:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "body must be {state, description?, metadata?}")
        target = body["state"]
        if target == tss.state:
            tss.metadata.update(_metadata(body))
            return self._tss_json(tss)
        allowed = {
            ("CREATED", "UNINITIALIZED"),
            ("UNINITIALIZED", "INITIALIZED"),
            ("UNINITIALIZED", "DISABLED"),
            ("INITIALIZED", "DISABLED"),
        }
        if (tss.state, target) not in allowed:
            raise ApiError(400, "E_ILLEGAL_TSS_STATE_CHANGE", f"{tss.state} -> {target} is not allowed")
        if target in ("INITIALIZED", "DISABLED"):
            self._require_admin(token, tss)
        if "description" in body:
            if target != "INITIALIZED" or not _DESCRIPTION_RE.match(str(body["description"])):
                raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "description only when initialising, restricted set")
            tss.description = body["description"]
        now = int(time.time())
        tss.state = target
        if target == "UNINITIALIZED":
            tss.time_uninit = now
        elif target == "INITIALIZED":
            tss.time_init = now
        else:
            tss.time_disable = now
        tss.metadata.update(_metadata(body))
        self._system_log(tss)
        return self._tss_json(tss)

    def _change_pin(self, tss_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        if tss.state not in ("UNINITIALIZED", "INITIALIZED"):
            raise ApiError(400, "E_CHANGE_ADMIN_PIN_FAILED", f"not possible in state {tss.state}")
        pin = body.get("new_admin_pin")
        if not isinstance(pin, str) or len(pin) < 6:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "new_admin_pin must have at least 6 characters")
        if body.get("admin_puk") != tss.admin_puk:
            raise ApiError(400, "E_CHANGE_ADMIN_PIN_FAILED", "wrong PUK")
        tss.admin_pin = pin
        tss.pin_blocked = False
        tss.pin_failures = 0
        self._system_log(tss)
        return {}

    def _admin_auth(self, token: str, tss_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        if tss.pin_blocked:
            raise ApiError(423, "E_ADMIN_PIN_BLOCKED", "admin PIN is blocked; reset it with the PUK")
        if body.get("admin_pin") != tss.admin_pin:
            tss.pin_failures += 1
            if tss.pin_failures >= 5:
                tss.pin_blocked = True
            raise ApiError(401, "E_ADMIN_LOGIN_FAILED", f"wrong admin PIN ({tss.pin_failures} of 5)")
        tss.pin_failures = 0
        self._admin_sessions.add((token, tss.id))
        self._system_log(tss)
        return {}

    # --- clients -----------------------------------------------------------------------

    def _require_initialized(self, tss: _Tss) -> None:
        if tss.state == "DISABLED":
            raise ApiError(400, "E_TSS_DISABLED", "TSS is disabled")
        if tss.state != "INITIALIZED":
            raise ApiError(400, "E_TSS_NOT_INITIALIZED", "TSS is not initialized")

    def _get_client(self, tss: _Tss, client_id: str) -> dict[str, Any]:
        client = tss.clients.get(client_id)
        if client is None:
            raise ApiError(404, "E_CLIENT_NOT_FOUND", "client not found (fake)")
        return client

    def _client_json(self, client: dict[str, Any]) -> dict[str, Any]:
        return {**client, "metadata": dict(client["metadata"]), "_type": "CLIENT", "_env": self.env}

    def _create_client(self, token: str, tss_id: str, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        _check_uuid(client_id)
        self._require_initialized(tss)
        self._require_admin(token, tss)
        serial = body.get("serial_number")
        if not isinstance(serial, str) or not _SERIAL_RE.match(serial):
            raise ApiError(400, "E_ILLEGAL_CLIENT_SERIAL", "serial_number: 1-70 chars, no '/' or '_'")
        for other in self._tss.values():
            if other is not tss and client_id in other.clients:
                raise ApiError(409, "E_CLIENT_CONFLICT", "client id is used by another TSS")
        existing = tss.clients.get(client_id)
        if existing is not None:
            if existing["serial_number"] != serial:
                raise ApiError(409, "E_CLIENT_CONFLICT", "client exists with another serial number")
            return self._client_json(existing)
        if any(c["serial_number"] == serial for c in tss.clients.values()):
            raise ApiError(409, "E_CLIENT_CONFLICT", "serial number already registered in this TSS")
        if sum(1 for c in tss.clients.values() if c["state"] == "REGISTERED") >= MAX_CLIENTS:
            raise ApiError(403, "E_CLIENT_LIMIT_REACHED", "199 registered clients")
        client = {
            "_id": client_id,
            "serial_number": serial,
            "state": "REGISTERED",
            "tss_id": tss.id,
            "time_creation": int(time.time()),
            "metadata": _metadata(body),
        }
        tss.clients[client_id] = client
        self._system_log(tss)
        return self._client_json(client)

    def _update_client(self, token: str, tss_id: str, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        client = self._get_client(tss, client_id)
        self._require_admin(token, tss)
        if body.get("state") not in ("REGISTERED", "DEREGISTERED"):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "state must be REGISTERED or DEREGISTERED")
        if body["state"] != client["state"]:
            client["state"] = body["state"]
            self._system_log(tss)
        client["metadata"].update(_metadata(body))
        return self._client_json(client)

    # --- transactions ------------------------------------------------------------------

    def _upsert_tx(self, tss_id: str, tx_id: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        revision_text = params.get("tx_revision", "")
        if not revision_text.isdigit() or int(revision_text) < 1:
            raise ApiError(400, "E_TX_REVISION_NOT_FOUND", "tx_revision (>= 1) is required")
        revision = int(revision_text)
        tx = tss.txs.get(tx_id)
        if tx is not None and revision <= len(tx.revisions):
            stored_body, stored_response = tx.revisions[revision - 1]
            if revision == len(tx.revisions) and stored_body == body:
                return stored_response  # idempotent replay of a lost response
            raise ApiError(409, "E_PENDING_TX_CONFLICT", f"revision {revision} already exists with other data")
        expected = 1 if tx is None else len(tx.revisions) + 1
        if revision != expected:
            raise ApiError(400, "E_TX_REVISION_NOT_FOUND", f"expected tx_revision={expected}")
        self._require_initialized(tss)
        state = body.get("state")
        if state not in ("ACTIVE", "FINISHED", "CANCELLED"):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "state must be ACTIVE, FINISHED or CANCELLED")
        client_id = str(body.get("client_id") or "").lower()
        client = tss.clients.get(client_id)
        if client is None:
            raise ApiError(400, "E_CLIENT_NOT_FOUND", "unknown client")
        if client["state"] != "REGISTERED":
            raise ApiError(400, "E_CLIENT_DEREGISTERED", "client is deregistered")
        process_type, process_data = _process(body.get("schema"))
        if tx is not None:
            previous = tx.revisions[-1][1]
            if previous["state"] != "ACTIVE":
                raise ApiError(400, "E_TX_ALREADY_FINISHED", "transaction is no longer ACTIVE (fake)")
            previous_type = previous["schema"]["raw"]["process_type"]
            if previous_type and process_type and previous_type != process_type:
                raise ApiError(409, "E_TX_ILLEGAL_TYPE_CHANGE", "process_type differs from an earlier revision")
        else:
            _check_uuid(tx_id)
            active = sum(1 for t in tss.txs.values() if t.revisions[-1][1]["state"] == "ACTIVE")
            if active >= MAX_ACTIVE_TX:
                raise ApiError(400, "E_TX_LIMIT_REACHED", "2000 ACTIVE transactions")
            tss.transaction_counter += 1
            tx = _Tx(tx_id, tss.transaction_counter)
        now = int(time.time())
        operation = "Start" if revision == 1 else ("Update" if state == "ACTIVE" else "Finish")
        time_start = now if revision == 1 else tx.revisions[0][1]["time_start"]
        tss.signature_counter += 1
        counter = tss.signature_counter
        message = f"{operation}|{tx.number}|{counter}|{now}|{process_type}|{process_data}".encode()
        der = tss.key.sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature_b64 = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
        response: dict[str, Any] = {
            "_id": tx.id,
            "_type": "TRANSACTION",
            "_env": self.env,
            "_version": "2.1.35",
            "number": tx.number,
            "state": state,
            "revision": revision,
            "latest_revision": revision,
            "tss_id": tss.id,
            "tss_serial_number": tss.serial_number,
            "client_id": client_id,
            "client_serial_number": client["serial_number"],
            "time_start": time_start,
            "schema": {
                **(body.get("schema") or {}),
                "raw": {"process_type": process_type, "process_data": base64.b64encode(process_data.encode()).decode()},
            },
            "metadata": {**(tx.revisions[-1][1]["metadata"] if tx.revisions else {}), **_metadata(body)},
            "log": {"operation": operation, "timestamp": now, "timestamp_format": "unixTime"},
            "signature": {
                "value": signature_b64,
                "algorithm": "ecdsa-plain-SHA256",
                "counter": str(counter) if self.counter_as_string else counter,
                "public_key": tss.public_key_b64,
            },
        }
        if state != "ACTIVE":
            response["time_end"] = now
            response["qr_code_data"] = ";".join(
                [
                    "V0",
                    client["serial_number"],
                    process_type,
                    process_data,
                    str(tx.number),
                    str(counter),
                    _iso(time_start),
                    _iso(now),
                    "ecdsa-plain-SHA256",
                    "unixTime",
                    signature_b64,
                    tss.public_key_b64,
                ]
            )
        tx.revisions.append((body, response))
        tss.txs[tx.id] = tx
        name = f"Unixt_{now}_Sig-{counter}_Log-Tra_No-{tx.number}_{operation}_Client-{client['serial_number']}.log"
        tss.logs.append((counter, now, name, message))
        return response

    def _find_tx(self, tss: _Tss, tx_ref: str) -> _Tx:
        tx = tss.txs.get(tx_ref)
        if tx is None and tx_ref.isdigit():
            tx = next((t for t in tss.txs.values() if t.number == int(tx_ref)), None)
        if tx is None:
            raise ApiError(404, "E_TX_NOT_FOUND", "transaction not found (fake)")
        return tx

    def _tx_json(self, tx: _Tx, revision: int | None = None) -> dict[str, Any]:
        index = len(tx.revisions) if revision is None else revision
        if not 1 <= index <= len(tx.revisions):
            raise ApiError(400, "E_TX_REVISION_NOT_FOUND", f"revision {revision} does not exist")
        return {**tx.revisions[index - 1][1], "latest_revision": len(tx.revisions)}

    def _get_tx(self, tss_id: str, tx_ref: str, params: dict[str, str]) -> dict[str, Any]:
        tx = self._find_tx(self._get_tss(tss_id), tx_ref)
        revision = params.get("tx_revision")
        if revision is not None and not revision.isdigit():
            raise ApiError(400, "E_TX_REVISION_NOT_FOUND", "tx_revision must be a number")
        return self._tx_json(tx, int(revision) if revision is not None else None)

    def _list_tx(self, tss_id: str, params: dict[str, str], query: list[tuple[str, str]]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        states = {value for key, value in query if key == "states" or re.fullmatch(r"states\[\d*\]", key)}
        try:
            limit = int(params.get("limit", "100"))
            offset = int(params.get("offset", "0"))
        except ValueError:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "limit/offset must be integers") from None
        if not 1 <= limit <= 100 or offset < 0:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "limit 1-100, offset >= 0")
        items = [self._tx_json(t) for t in sorted(tss.txs.values(), key=lambda t: t.number)]
        if params.get("order") == "desc":
            items.reverse()
        if states:
            items = [t for t in items if t["state"] in states]
        page = items[offset : offset + limit]
        return {"data": page, "count": len(page), "_type": "TRANSACTION_LIST", "_env": self.env}

    # --- exports -----------------------------------------------------------------------

    def _trigger_export(self, tss_id: str, export_id: str, params: dict[str, str]) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        _check_uuid(export_id)
        if tss.state not in ("INITIALIZED", "DISABLED"):
            raise ApiError(409, "E_TSS_ILLEGAL_STATE_TO_PERFORM_EXPORT", "exports need INITIALIZED or DISABLED")
        export = tss.exports.get(export_id)
        if export is None:
            in_flight = sum(1 for e in tss.exports.values() if e["state"] in ("PENDING", "WORKING"))
            if in_flight >= 10:
                raise ApiError(409, "E_TOO_MANY_EXPORTS", "10 exports in flight")
            export = {
                "_id": export_id,
                "_file": self._build_tar(tss, params),
                "_type": "EXPORT",
                "_env": self.env,
                "tss_id": tss.id,
                "state": "PENDING",
                "time_request": int(time.time()),
                "parameters": dict(params),
            }
            tss.exports[export_id] = export
        return _public(export)

    def _retrieve_export(self, tss_id: str, export_id: str) -> dict[str, Any]:
        tss = self._get_tss(tss_id)
        export = tss.exports.get(export_id)
        if export is None:
            raise ApiError(404, "E_EXPORT_NOT_FOUND", "export not found (fake)")
        now = int(time.time())
        # Each poll advances the job one step: PENDING -> WORKING -> COMPLETED.
        if export["state"] == "PENDING":
            export.update(state="WORKING", time_start=now, estimated_time_of_completion=now + 1)
        elif export["state"] == "WORKING":
            export.update(state="COMPLETED", time_end=now, time_expiration=now + 30 * 86400)
        return _public(export)

    def _build_tar(self, tss: _Tss, params: dict[str, str]) -> bytes:
        """A small ustar archive of the selected logs plus the certificate, taken when triggered (fake)."""
        logs = tss.logs
        if "start_signature_counter" in params:
            logs = [log for log in logs if log[0] >= int(params["start_signature_counter"])]
        if "end_signature_counter" in params:
            logs = [log for log in logs if log[0] <= int(params["end_signature_counter"])]
        if "start_date" in params:
            logs = [log for log in logs if log[1] >= int(params["start_date"])]
        if "end_date" in params:
            logs = [log for log in logs if log[1] <= int(params["end_date"])]
        buffer = io.BytesIO()
        now = int(time.time())
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            members = [(f"{tss.serial_number}_X509.pem", tss.certificate_pem)]
            members += [(name, data) for _counter, _unix, name, data in logs]
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), now
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def _export_file(self, tss_id: str, export_id: str) -> bytes:
        tss = self._get_tss(tss_id)
        export = tss.exports.get(export_id)
        if export is None:
            raise ApiError(404, "E_EXPORT_NOT_FOUND", "export not found (fake)")
        if export["state"] != "COMPLETED":
            raise ApiError(404, "E_EXPORT_NOT_COMPLETED", "export not completed yet", {"Retry-After": "60"})
        return export["_file"]


# --- helpers -----------------------------------------------------------------------------


def _check_uuid(value: str) -> None:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", f"{value!r} is not a UUID") from None
    if parsed.version != 4:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", f"{value!r} is not a UUIDv4")


def _public(export: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in export.items() if key != "_file"}


def _certificate(key: ec.EllipticCurvePrivateKey, serial: str) -> bytes:
    """A self-signed PEM certificate of the TSS key (the real one is issued by a CA)."""
    now = datetime.now(UTC).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, serial)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > 40:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "metadata: at most 40 pairs")
    for key, value in metadata.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "metadata: key <= 40, string value <= 500")
    return dict(metadata)


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _process(schema: Any) -> tuple[str, str]:
    """``(process_type, process_data)`` derived from ``schema`` (empty at the start)."""
    if schema is None:
        return "", ""
    if not isinstance(schema, dict) or len(schema) != 1:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "schema must have exactly one key")
    if "raw" in schema:
        raw = schema["raw"]
        if not isinstance(raw, dict) or set(raw) != {"process_type", "process_data"}:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "schema.raw needs process_type and process_data")
        process_type = raw["process_type"]
        if not isinstance(process_type, str) or not _DESCRIPTION_RE.match(process_type):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "schema.raw.process_type: at most 100 printable chars")
        try:
            data = base64.b64decode(str(raw["process_data"]), validate=True).decode("utf-8")
        except ValueError:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "schema.raw.process_data must be base64 UTF-8") from None
        return process_type, data
    standard = schema.get("standard_v1")
    if not isinstance(standard, dict) or set(standard) != {"receipt"}:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "this fake supports schema.standard_v1.receipt only")
    receipt = standard["receipt"]
    if not isinstance(receipt, dict) or receipt.get("receipt_type") not in _RECEIPT_TYPES:
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "receipt.receipt_type missing or unknown")
    per_vat = receipt.get("amounts_per_vat_rate")
    if not isinstance(per_vat, list):
        raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "receipt.amounts_per_vat_rate is required")
    brackets = dict.fromkeys(_VAT_ORDER, "0.00")
    for item in per_vat:
        if not isinstance(item, dict) or item.get("vat_rate") not in brackets:
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "unknown vat_rate")
        if not isinstance(item.get("amount"), str) or not _AMOUNT_RE.match(item["amount"]):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "amount must be a decimal string")
        brackets[item["vat_rate"]] = item["amount"]
    payments = []
    for item in receipt.get("amounts_per_payment_type") or []:
        if not isinstance(item, dict) or item.get("payment_type") not in ("CASH", "NON_CASH"):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "payment_type must be CASH or NON_CASH")
        if not isinstance(item.get("amount"), str) or not _AMOUNT_RE.match(item["amount"]):
            raise ApiError(400, "E_FAILED_SCHEMA_VALIDATION", "amount must be a decimal string")
        entry = f"{item['amount']}:{'Bar' if item['payment_type'] == 'CASH' else 'Unbar'}"
        currency = item.get("currency_code", "EUR")
        payments.append(entry if currency == "EUR" else f"{entry}:{currency}")
    data = f"{_RECEIPT_TYPES[receipt['receipt_type']]}^{'_'.join(brackets.values())}^{'_'.join(payments)}"
    return "Kassenbeleg-V1", data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected (injected delays); stay quiet.
        return


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeFiskalyServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server_fake.handle(self.command, self.path, self.headers, raw_body)
        binary = isinstance(payload, bytes)
        data = payload if binary else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-tar" if binary else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", str(uuid.uuid4()))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve
