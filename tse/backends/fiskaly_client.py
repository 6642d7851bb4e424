"""Typed HTTP client for fiskaly SIGN DE v2 (cloud TSE).

A pure client: no Django, no database. Settings come in as a :class:`FiskalyConfig`; the adapter
that maps this client onto the portal's TSE backend interface lives elsewhere.

Contract (``/work/shared/reference/api-conventions.md`` §1, ``tse.md`` §6.1):

* ``POST /auth`` with ``{api_key, api_secret}`` or ``{refresh_token}``; the access token is
  refreshed proactively (``refresh_leeway`` seconds before it expires) with the refresh token,
  falling back to key/secret; a 401 on a normal call triggers exactly one re-authentication.
* Every creating call is an idempotent ``PUT`` with a caller-generated UUIDv4 in the path, so
  retrying after a lost response is safe.
* Errors come as ``{status_code, error, code, message}`` and are raised as :class:`FiskalyError`.
  4xx (including 423/432/444) are final; 5xx, 499, 429, timeouts and network errors are retried
  with exponential backoff and jitter, honouring ``Retry-After``.
* Timeouts depend on the operation kind: transactions short (5 s), TSS creation and
  personalisation long (≥ 30 s).
* ``signature.counter`` is documented as a string but returned as a number — both are accepted.
"""

from __future__ import annotations

import base64
import email.utils
import enum
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://kassensichv-middleware.fiskaly.com/api/v2"

# 401 codes that mean "the action was refused", not "your token is bad": no re-authentication.
_NON_TOKEN_401_CODES = frozenset({"E_ADMIN_LOGIN_FAILED", "E_ADMIN_NOT_AUTHENTICATED", "E_CLIENT_DEREGISTERED"})

# Client-side codes for failures that never produced a fiskaly error envelope.
E_TIMEOUT = "E_TIMEOUT"
E_NETWORK = "E_NETWORK"
E_INVALID_RESPONSE = "E_INVALID_RESPONSE"


# --- enums ---------------------------------------------------------------------------------


class TssState(enum.StrEnum):
    CREATED = "CREATED"
    UNINITIALIZED = "UNINITIALIZED"
    INITIALIZED = "INITIALIZED"
    DISABLED = "DISABLED"
    DELETED = "DELETED"
    DEFECTIVE = "DEFECTIVE"
    EVICTED = "EVICTED"


class ClientState(enum.StrEnum):
    REGISTERED = "REGISTERED"
    DEREGISTERED = "DEREGISTERED"


class TransactionState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"


class ExportState(enum.StrEnum):
    PENDING = "PENDING"
    WORKING = "WORKING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"
    EXPIRED = "EXPIRED"


class OperationKind(enum.Enum):
    """Selects the timeout of a call."""

    AUTH = "auth"
    TRANSACTION = "transaction"
    DEFAULT = "default"
    LONG = "long"  # TSS creation and personalisation (deploys a SMAERS process)


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class FiskalyConfig:
    """Everything the client needs; built by the caller from settings or the database."""

    api_key: str
    api_secret: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # A Retry-After longer than this is not waited for: the error is raised (retryable) instead.
    retry_after_max: float = 60.0
    timeout_auth: float = 4.0
    timeout_transaction: float = 5.0
    timeout_default: float = 5.0
    timeout_long: float = 60.0
    refresh_leeway: float = 300.0

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ValueError("api_key and api_secret are required")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        for name in ("timeout_auth", "timeout_transaction", "timeout_default", "timeout_long"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.retry_after_max < 0 or self.refresh_leeway < 0:
            raise ValueError("backoff, retry_after_max and refresh_leeway must be >= 0")

    def timeout_for(self, kind: OperationKind) -> float:
        return {
            OperationKind.AUTH: self.timeout_auth,
            OperationKind.TRANSACTION: self.timeout_transaction,
            OperationKind.DEFAULT: self.timeout_default,
            OperationKind.LONG: self.timeout_long,
        }[kind]


# --- errors --------------------------------------------------------------------------------


class FiskalyError(Exception):
    """A failed call: fiskaly's error envelope, or a client-side timeout/network/format failure.

    ``status_code`` is ``None`` when no HTTP response arrived (``code`` is then ``E_TIMEOUT`` or
    ``E_NETWORK``). ``retryable`` tells the caller whether the same request may be sent again later.
    """

    def __init__(
        self,
        status_code: int | None,
        code: str,
        message: str,
        retryable: bool,
        *,
        error: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status_code or '-'} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.retryable = retryable
        self.error = error
        self.request_id = request_id
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (Celery results, multiprocessing) despite the keyword-only attributes.
        return (type(self), (self.status_code, self.code, self.message, self.retryable), dict(self.__dict__))

    @staticmethod
    def is_retryable_status(status_code: int) -> bool:
        return status_code >= 500 or status_code in (429, 499)

    @classmethod
    def from_response(cls, response: httpx.Response) -> FiskalyError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        status = response.status_code
        code = body.get("code") or f"E_HTTP_{status}"
        message = body.get("message") or response.reason_phrase or ""
        return cls(
            status,
            str(code),
            str(message),
            cls.is_retryable_status(status),
            error=str(body.get("error") or response.reason_phrase or ""),
            request_id=response.headers.get("request-id"),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions tolerated) or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


# --- result dataclasses --------------------------------------------------------------------


def _invalid(what: str) -> FiskalyError:
    return FiskalyError(None, E_INVALID_RESPONSE, what, False)


def parse_counter(value: Any) -> int:
    """``signature.counter`` / bigint counters: documented as string, returned as number."""
    if isinstance(value, bool):
        raise _invalid(f"counter is not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _invalid(f"counter is not a number: {value!r}")


def _optional_counter(value: Any) -> int | None:
    return None if value is None else parse_counter(value)


def _enum(enum_cls: type[enum.StrEnum], value: Any) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        raise _invalid(f"unknown {enum_cls.__name__}: {value!r}") from None


def _required(data: Mapping[str, Any], key: str) -> Any:
    if key not in data or data[key] is None:
        raise _invalid(f"response lacks {key!r}")
    return data[key]


@dataclass(frozen=True)
class AuthInfo:
    env: str | None
    organization_id: str | None
    access_token_expires_at: int | None
    refresh_token_expires_at: int | None


@dataclass(frozen=True)
class Tss:
    id: str
    state: TssState
    description: str | None = None
    serial_number: str | None = None
    public_key: str | None = None
    certificate: str | None = None
    signature_algorithm: str | None = None
    signature_timestamp_format: str | None = None
    signature_counter: int | None = None
    transaction_counter: int | None = None
    number_registered_clients: int | None = None
    max_number_registered_clients: int | None = None
    number_active_transactions: int | None = None
    max_number_active_transactions: int | None = None
    # Only present while the TSS is CREATED: store it encrypted straight away.
    admin_puk: str | None = field(default=None, repr=False)
    time_creation: int | None = None
    time_uninit: int | None = None
    time_init: int | None = None
    time_disable: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Tss:
        return cls(
            id=_required(data, "_id"),
            state=_enum(TssState, _required(data, "state")),
            description=data.get("description"),
            serial_number=data.get("serial_number"),
            public_key=data.get("public_key"),
            certificate=data.get("certificate"),
            signature_algorithm=data.get("signature_algorithm"),
            signature_timestamp_format=data.get("signature_timestamp_format"),
            signature_counter=_optional_counter(data.get("signature_counter")),
            transaction_counter=_optional_counter(data.get("transaction_counter")),
            number_registered_clients=data.get("number_registered_clients"),
            max_number_registered_clients=data.get("max_number_registered_clients"),
            number_active_transactions=data.get("number_active_transactions"),
            max_number_active_transactions=data.get("max_number_active_transactions"),
            admin_puk=data.get("admin_puk"),
            time_creation=data.get("time_creation"),
            time_uninit=data.get("time_uninit"),
            time_init=data.get("time_init"),
            time_disable=data.get("time_disable"),
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Client:
    id: str
    serial_number: str
    state: ClientState
    tss_id: str | None = None
    time_creation: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Client:
        return cls(
            id=_required(data, "_id"),
            serial_number=_required(data, "serial_number"),
            state=_enum(ClientState, _required(data, "state")),
            tss_id=data.get("tss_id"),
            time_creation=data.get("time_creation"),
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Signature:
    value: str
    algorithm: str
    counter: int
    public_key: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Signature:
        return cls(
            value=_required(data, "value"),
            algorithm=_required(data, "algorithm"),
            counter=parse_counter(_required(data, "counter")),
            public_key=_required(data, "public_key"),
        )


@dataclass(frozen=True)
class TransactionLog:
    operation: str  # Start | Update | Finish
    timestamp: int
    timestamp_format: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TransactionLog:
        return cls(
            operation=_required(data, "operation"),
            timestamp=_required(data, "timestamp"),
            timestamp_format=data.get("timestamp_format"),
        )


@dataclass(frozen=True)
class Transaction:
    id: str
    number: int
    state: TransactionState
    revision: int
    latest_revision: int
    client_id: str
    time_start: int
    time_end: int | None = None
    tss_id: str | None = None
    tss_serial_number: str | None = None
    client_serial_number: str | None = None
    signature: Signature | None = None
    log: TransactionLog | None = None
    qr_code_data: str | None = None
    process_type: str | None = None
    process_data: str | None = None  # base64, as in schema.raw
    schema: dict[str, Any] = field(default_factory=dict, repr=False)
    metadata: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Transaction:
        schema = dict(data.get("schema") or {})
        raw_schema = schema.get("raw") or {}
        signature = data.get("signature")
        log = data.get("log")
        revision = parse_counter(_required(data, "revision"))
        return cls(
            id=_required(data, "_id"),
            number=parse_counter(_required(data, "number")),
            state=_enum(TransactionState, _required(data, "state")),
            revision=revision,
            latest_revision=parse_counter(data.get("latest_revision", revision)),
            client_id=_required(data, "client_id"),
            time_start=_required(data, "time_start"),
            time_end=data.get("time_end"),
            tss_id=data.get("tss_id"),
            tss_serial_number=data.get("tss_serial_number"),
            client_serial_number=data.get("client_serial_number"),
            signature=Signature.from_api(signature) if signature else None,
            log=TransactionLog.from_api(log) if log else None,
            qr_code_data=data.get("qr_code_data"),
            process_type=raw_schema.get("process_type"),
            process_data=raw_schema.get("process_data"),
            schema=schema,
            metadata=dict(data.get("metadata") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class TransactionList:
    data: list[Transaction]
    count: int


@dataclass(frozen=True)
class Export:
    id: str
    state: ExportState
    tss_id: str | None = None
    exception: str | None = None
    time_request: int | None = None
    time_start: int | None = None
    time_end: int | None = None
    time_expiration: int | None = None
    time_error: int | None = None
    estimated_time_of_completion: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Export:
        return cls(
            id=_required(data, "_id"),
            state=_enum(ExportState, _required(data, "state")),
            tss_id=data.get("tss_id"),
            exception=data.get("exception"),
            time_request=data.get("time_request"),
            time_start=data.get("time_start"),
            time_end=data.get("time_end"),
            time_expiration=data.get("time_expiration"),
            time_error=data.get("time_error"),
            estimated_time_of_completion=data.get("estimated_time_of_completion"),
            raw=dict(data),
        )


# --- the client ----------------------------------------------------------------------------


@dataclass
class _Tokens:
    access_token: str
    access_expires: float  # on the client's monotonic clock
    refresh_token: str | None
    refresh_expires: float


class FiskalyClient:
    """Synchronous, thread-safe fiskaly SIGN DE v2 client.

    Use as a context manager or call :meth:`close`. ``sleep``, ``clock`` and ``rng`` are injectable
    so that backoff and token expiry can be observed in tests.
    """

    def __init__(
        self,
        config: FiskalyConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/") + "/",
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._tokens: _Tokens | None = None
        self._auth_info: AuthInfo | None = None
        self._token_lock = threading.Lock()

    def __enter__(self) -> FiskalyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- authentication ----------------------------------------------------------------

    @property
    def auth_info(self) -> AuthInfo | None:
        return self._auth_info

    def authenticate(self) -> AuthInfo:
        """Obtain fresh tokens with the API key and secret."""
        with self._token_lock:
            self._login({"api_key": self.config.api_key, "api_secret": self.config.api_secret})
            assert self._auth_info is not None
            return self._auth_info

    def _login(self, body: dict[str, str]) -> None:
        started = self._clock()
        data = self._send("POST", "auth", kind=OperationKind.AUTH, json=body, authenticated=False)
        try:
            access_token = str(data["access_token"])
            access_in = float(data["access_token_expires_in"])
        except (KeyError, TypeError, ValueError):
            raise _invalid("auth response lacks access_token/access_token_expires_in") from None
        refresh_token = data.get("refresh_token")
        refresh_in = float(data.get("refresh_token_expires_in") or 0)
        # Expiry is measured from when the request was sent, so latency shortens, never extends it.
        self._tokens = _Tokens(access_token, started + access_in, refresh_token, started + refresh_in)
        claims = data.get("access_token_claims") or {}
        self._auth_info = AuthInfo(
            env=claims.get("env"),
            organization_id=claims.get("organization_id"),
            access_token_expires_at=data.get("access_token_expires_at"),
            refresh_token_expires_at=data.get("refresh_token_expires_at"),
        )

    def _access_token(self) -> str:
        with self._token_lock:
            now = self._clock()
            tokens = self._tokens
            if tokens is not None and tokens.access_expires - now > self.config.refresh_leeway:
                return tokens.access_token
            if (
                tokens is not None
                and tokens.refresh_token
                and tokens.refresh_expires - now > self.config.refresh_leeway
            ):
                try:
                    self._login({"refresh_token": tokens.refresh_token})
                except FiskalyError as exc:
                    if exc.status_code != 401:
                        raise
                    logger.info("fiskaly refresh token rejected, authenticating with the API key")
                    self._login({"api_key": self.config.api_key, "api_secret": self.config.api_secret})
            else:
                self._login({"api_key": self.config.api_key, "api_secret": self.config.api_secret})
            assert self._tokens is not None
            return self._tokens.access_token

    def _reauthenticate(self, rejected_token: str) -> None:
        with self._token_lock:
            if self._tokens is not None and self._tokens.access_token != rejected_token:
                return  # another thread already replaced it
            self._login({"api_key": self.config.api_key, "api_secret": self.config.api_secret})

    # --- transport, retries ------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.config.backoff_max, self.config.backoff_base * (2 ** (attempt - 1)))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _send(
        self,
        method: str,
        path: str,
        *,
        kind: OperationKind = OperationKind.DEFAULT,
        json: Any = None,
        params: Any = None,
        authenticated: bool = True,
    ) -> Any:
        """One logical call: retries, the single re-authentication on 401, envelope decoding."""
        timeout = self.config.timeout_for(kind)
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            headers = {}
            token = None
            if authenticated:
                token = self._access_token()
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers, timeout=timeout)
            except httpx.TimeoutException as exc:
                error = FiskalyError(None, E_TIMEOUT, f"{method} {path}: timed out after {timeout}s ({exc})", True)
            except httpx.TransportError as exc:
                error = FiskalyError(None, E_NETWORK, f"{method} {path}: {type(exc).__name__}: {exc}", True)
            else:
                request_id = response.headers.get("request-id")
                if response.is_success:
                    logger.debug("fiskaly %s %s -> %s request-id=%s", method, path, response.status_code, request_id)
                    return self._decode(response)
                error = FiskalyError.from_response(response)
                logger.warning(
                    "fiskaly %s %s -> %s %s request-id=%s (attempt %d)",
                    method,
                    path,
                    response.status_code,
                    error.code,
                    request_id,
                    attempt,
                )
                if (
                    response.status_code == 401
                    and token is not None
                    and not reauthenticated
                    and error.code not in _NON_TOKEN_401_CODES
                ):
                    reauthenticated = True
                    attempt -= 1  # the re-authentication does not use up a retry
                    self._reauthenticate(token)
                    continue
            if not error.retryable or attempt >= self.config.max_attempts:
                raise error
            if error.retry_after is not None and error.retry_after > self.config.retry_after_max:
                raise error
            delay = self._backoff(attempt, error.retry_after)
            logger.info("fiskaly %s %s: %s, retrying in %.2fs", method, path, error.code, delay)
            self._sleep(delay)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        if not response.content:
            return {}
        if "json" not in content_type:
            return response.content
        try:
            return response.json()
        except ValueError:
            raise FiskalyError(
                response.status_code,
                E_INVALID_RESPONSE,
                "response body is not valid JSON",
                False,
                request_id=response.headers.get("request-id"),
            ) from None

    def _object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = self._send(*args, **kwargs)
        if not isinstance(data, dict):
            raise _invalid("expected a JSON object")
        return data

    # --- TSS ---------------------------------------------------------------------------

    def create_tss(self, tss_id: str, *, metadata: Mapping[str, str] | None = None) -> Tss:
        """``PUT /tss/{tss_id}``: state CREATED with the ``admin_puk`` (repeatable while CREATED)."""
        body: dict[str, Any] = {}
        if metadata:
            body["metadata"] = dict(metadata)
        return Tss.from_api(self._object("PUT", f"tss/{_segment(tss_id)}", kind=OperationKind.LONG, json=body))

    def retrieve_tss(self, tss_id: str) -> Tss:
        return Tss.from_api(self._object("GET", f"tss/{_segment(tss_id)}"))

    def update_tss(
        self,
        tss_id: str,
        state: TssState | str,
        *,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Tss:
        """``PATCH /tss/{tss_id}``; → INITIALIZED / → DISABLED need an admin login first."""
        body: dict[str, Any] = {"state": TssState(state).value}
        if description is not None:
            body["description"] = description
        if metadata:
            body["metadata"] = dict(metadata)
        return Tss.from_api(self._object("PATCH", f"tss/{_segment(tss_id)}", kind=OperationKind.LONG, json=body))

    def change_admin_pin(self, tss_id: str, admin_puk: str, new_admin_pin: str) -> None:
        """``PATCH /tss/{tss_id}/admin``: set the PIN with the PUK (also unblocks a blocked PIN)."""
        self._send(
            "PATCH",
            f"tss/{_segment(tss_id)}/admin",
            kind=OperationKind.LONG,
            json={"admin_puk": admin_puk, "new_admin_pin": new_admin_pin},
        )

    def authenticate_admin(self, tss_id: str, admin_pin: str) -> None:
        self._send("POST", f"tss/{_segment(tss_id)}/admin/auth", json={"admin_pin": admin_pin})

    def logout_admin(self, tss_id: str) -> None:
        """Safe when not logged in."""
        self._send("POST", f"tss/{_segment(tss_id)}/admin/logout", json={})

    # --- clients -----------------------------------------------------------------------

    def create_client(
        self, tss_id: str, client_id: str, serial_number: str, *, metadata: Mapping[str, str] | None = None
    ) -> Client:
        """``PUT /tss/{tss_id}/client/{client_id}`` (idempotent; admin login required)."""
        body: dict[str, Any] = {"serial_number": serial_number}
        if metadata:
            body["metadata"] = dict(metadata)
        return Client.from_api(self._object("PUT", f"tss/{_segment(tss_id)}/client/{_segment(client_id)}", json=body))

    def update_client(
        self, tss_id: str, client_id: str, state: ClientState | str, *, metadata: Mapping[str, str] | None = None
    ) -> Client:
        body: dict[str, Any] = {"state": ClientState(state).value}
        if metadata:
            body["metadata"] = dict(metadata)
        return Client.from_api(self._object("PATCH", f"tss/{_segment(tss_id)}/client/{_segment(client_id)}", json=body))

    def retrieve_client(self, tss_id: str, client_id: str) -> Client:
        return Client.from_api(self._object("GET", f"tss/{_segment(tss_id)}/client/{_segment(client_id)}"))

    # --- transactions ------------------------------------------------------------------

    def upsert_transaction(
        self,
        tss_id: str,
        tx_id: str,
        *,
        tx_revision: int,
        state: TransactionState | str,
        client_id: str,
        receipt: Mapping[str, Any] | None = None,
        raw: tuple[str, bytes] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Transaction:
        """``PUT /tss/{tss_id}/tx/{tx_id}?tx_revision=n``.

        Revision 1 starts (``ACTIVE``, no receipt), each update adds 1, the last one finishes
        (``FINISHED``/``CANCELLED`` with the full ``schema.standard_v1.receipt``). Resending the
        same revision with the same body returns the stored result.

        ``raw=(process_type, process_data)`` sends ``schema.raw`` instead of a receipt: the
        process type and the process data bytes (sent base64), for callers that build the
        process data themselves. ``receipt`` and ``raw`` exclude each other.
        """
        if isinstance(tx_revision, bool) or not isinstance(tx_revision, int) or tx_revision < 1:
            raise ValueError("tx_revision must be an integer >= 1")
        if receipt is not None and raw is not None:
            raise ValueError("receipt and raw exclude each other")
        body: dict[str, Any] = {"state": TransactionState(state).value, "client_id": client_id}
        if receipt is not None:
            body["schema"] = {"standard_v1": {"receipt": dict(receipt)}}
        if raw is not None:
            process_type, process_data = raw
            body["schema"] = {
                "raw": {"process_type": process_type, "process_data": base64.b64encode(bytes(process_data)).decode()}
            }
        if metadata:
            body["metadata"] = dict(metadata)
        data = self._object(
            "PUT",
            f"tss/{_segment(tss_id)}/tx/{_segment(tx_id)}",
            kind=OperationKind.TRANSACTION,
            params={"tx_revision": tx_revision},
            json=body,
        )
        return Transaction.from_api(data)

    def retrieve_transaction(
        self, tss_id: str, tx_id_or_number: str | int, *, tx_revision: int | None = None
    ) -> Transaction:
        params = {"tx_revision": tx_revision} if tx_revision is not None else None
        data = self._object(
            "GET",
            f"tss/{_segment(tss_id)}/tx/{_segment(tx_id_or_number)}",
            kind=OperationKind.TRANSACTION,
            params=params,
        )
        return Transaction.from_api(data)

    def list_transactions(
        self,
        tss_id: str,
        *,
        states: Sequence[TransactionState | str] = (),
        limit: int = 100,
        offset: int = 0,
        order: str | None = None,
        order_by: str | None = None,
    ) -> TransactionList:
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        if offset < 0:
            raise ValueError("offset must be >= 0")
        params: list[tuple[str, str | int]] = [("limit", limit), ("offset", offset)]
        params += [(f"states[{i}]", TransactionState(s).value) for i, s in enumerate(states)]
        if order is not None:
            params.append(("order", order))
        if order_by is not None:
            params.append(("order_by", order_by))
        data = self._object("GET", f"tss/{_segment(tss_id)}/tx", params=params)
        items = data.get("data")
        if not isinstance(items, list):
            raise _invalid("list response lacks data[]")
        return TransactionList([Transaction.from_api(item) for item in items], int(data.get("count", len(items))))

    # --- exports -----------------------------------------------------------------------

    def trigger_export(
        self,
        tss_id: str,
        export_id: str,
        *,
        client_id: str | None = None,
        start_date: int | None = None,
        end_date: int | None = None,
        start_transaction_number: int | None = None,
        end_transaction_number: int | None = None,
        start_signature_counter: int | None = None,
        end_signature_counter: int | None = None,
        maximum_number_records: int | None = None,
    ) -> Export:
        """``PUT /tss/{tss_id}/export/{export_id}?<filters>`` (``client_id`` excludes the others)."""
        filters = {
            "client_id": client_id,
            "start_date": start_date,
            "end_date": end_date,
            "start_transaction_number": start_transaction_number,
            "end_transaction_number": end_transaction_number,
            "start_signature_counter": start_signature_counter,
            "end_signature_counter": end_signature_counter,
            "maximum_number_records": maximum_number_records,
        }
        params = {key: value for key, value in filters.items() if value is not None}
        return Export.from_api(
            self._object("PUT", f"tss/{_segment(tss_id)}/export/{_segment(export_id)}", params=params, json={})
        )

    def retrieve_export(self, tss_id: str, export_id: str) -> Export:
        return Export.from_api(self._object("GET", f"tss/{_segment(tss_id)}/export/{_segment(export_id)}"))

    def download_export_file(self, tss_id: str, export_id: str, fileobj: BinaryIO) -> int:
        """``GET /tss/{tss_id}/export/{export_id}/file``: stream the TAR of a COMPLETED export into ``fileobj``.

        Returns the number of bytes written. Retries (like every call) only while nothing was
        written yet; a failure in the middle of the body raises a retryable error.
        """
        path = f"tss/{_segment(tss_id)}/export/{_segment(export_id)}/file"
        timeout = self.config.timeout_for(OperationKind.LONG)
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            token = self._access_token()
            written = 0
            try:
                with self._http.stream(
                    "GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "*/*"}, timeout=timeout
                ) as response:
                    if response.is_success:
                        for chunk in response.iter_bytes(65536):
                            fileobj.write(chunk)
                            written += len(chunk)
                        return written
                    response.read()
                    error = FiskalyError.from_response(response)
            except httpx.TimeoutException as exc:
                error = FiskalyError(None, E_TIMEOUT, f"GET {path}: timed out after {timeout}s ({exc})", True)
            except httpx.TransportError as exc:
                error = FiskalyError(None, E_NETWORK, f"GET {path}: {type(exc).__name__}: {exc}", True)
            if written:
                raise FiskalyError(None, E_NETWORK, f"GET {path}: broken off after {written} bytes", True)
            if error.status_code == 401 and not reauthenticated and error.code not in _NON_TOKEN_401_CODES:
                reauthenticated = True
                attempt -= 1
                self._reauthenticate(token)
                continue
            if not error.retryable or attempt >= self.config.max_attempts:
                raise error
            if error.retry_after is not None and error.retry_after > self.config.retry_after_max:
                raise error
            self._sleep(self._backoff(attempt, error.retry_after))


def _segment(value: str | int) -> str:
    """One path segment, percent-encoded so an id can never change the path."""
    return quote(str(value), safe="")


def utc_from_unix(seconds: int | None) -> datetime | None:
    """fiskaly timestamps are unix seconds."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
