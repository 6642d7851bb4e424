"""A signing unit (TSE) of an operator and the POS clients registered at it."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from tse.models.certifications import FormFactor
from tse.models.monitoring import Health

__all__ = [
    "DEFAULT_MAX_CLIENTS",
    "BackendType",
    "ClientState",
    "Curve",
    "SigningUnit",
    "SigningUnitMode",
    "SigningUnitState",
    "TseClient",
]


class BackendType(models.TextChoices):
    SOFTWARE = "software", _("Software TSE (not certified)")
    FISKALY = "fiskaly", _("fiskaly SIGN DE")
    LAN = "lan", _("LAN TSE")


class SigningUnitState(models.TextChoices):
    """TR-03151 lifecycle: uninitialized → initialized → disabled (irreversible)."""

    UNINITIALIZED = "uninitialized", _("uninitialized")
    INITIALIZED = "initialized", _("initialized")
    DISABLED = "disabled", _("disabled")


class SigningUnitMode(models.TextChoices):
    LIVE = "live", _("live")
    TEST = "test", _("test")


class Curve(models.TextChoices):
    P256 = "P-256", _("NIST P-256")
    P384 = "P-384", _("NIST P-384")
    BRAINPOOL_P256R1 = "brainpoolP256r1", _("brainpoolP256r1")
    BRAINPOOL_P384R1 = "brainpoolP384r1", _("brainpoolP384r1")


# Device limits differ per product (tse.md §5.3); a unit's own value is configurable.
DEFAULT_MAX_CLIENTS = {BackendType.SOFTWARE: 199, BackendType.FISKALY: 199, BackendType.LAN: 3}


class SigningUnit(models.Model):
    """One TSE: a signing key with its certificate, counters and lifecycle state.

    ``serial_number`` is the hex SHA-256 of the uncompressed public point (tse.md §3.3). The
    counters are only ever changed under ``select_for_update()`` in the transaction that stores
    the log message they were used for.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="signing_units",
                                     verbose_name=_("operator"))
    outlet = models.ForeignKey("tenants.Outlet", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="signing_units", verbose_name=_("outlet"))
    backend = models.CharField(_("backend"), max_length=16, choices=BackendType.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    reference = models.CharField(_("configuration key"), max_length=50, blank=True,
                                 help_text=_("Names it in configuration documents and rollout templates."))
    serial_number = models.CharField(_("serial number"), max_length=64, blank=True)
    public_key = models.BinaryField(_("public key (DER)"), blank=True, default=b"")
    certificate = models.TextField(_("certificate (PEM)"), blank=True)
    signature_algorithm = models.CharField(_("signature algorithm"), max_length=40, blank=True)
    curve = models.CharField(_("curve"), max_length=20, choices=Curve.choices, blank=True)
    bsi_certification_id = models.CharField(_("BSI certification id"), max_length=40, blank=True)
    form_factor = models.CharField(_("form factor"), max_length=10, blank=True, choices=FormFactor.choices)
    initialized_at = models.DateTimeField(_("initialized at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=SigningUnitState.choices,
                             default=SigningUnitState.UNINITIALIZED)
    mode = models.CharField(_("mode"), max_length=8, choices=SigningUnitMode.choices, default=SigningUnitMode.TEST)
    last_time_sync_at = models.DateTimeField(_("last time synchronisation"), null=True, blank=True)
    certificate_expires_at = models.DateTimeField(_("certificate expires at"), null=True, blank=True)
    signature_counter = models.PositiveBigIntegerField(_("signature counter"), default=0)
    transaction_counter = models.PositiveBigIntegerField(_("transaction counter"), default=0)
    max_clients = models.PositiveIntegerField(_("maximum number of clients"), blank=True)
    encrypted_private_key = models.BinaryField(_("encrypted private key"), null=True, blank=True, editable=False)
    # Health (tse.models.monitoring): only changed by tse.services.outages, never by the backends.
    health = models.CharField(_("status"), max_length=8, choices=Health.choices, default=Health.GREEN)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failed signings"), default=0)
    health_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    # Lifecycle monitoring: the smallest certificate-expiry warning (days) already mailed, and
    # the remaining signature capacity where the backend reports one.
    certificate_warning_days = models.PositiveSmallIntegerField(_("certificate warning sent (days)"),
                                                                null=True, blank=True)
    remaining_signatures = models.PositiveBigIntegerField(_("remaining signatures"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("signing unit (TSE)")
        verbose_name_plural = _("signing units (TSE)")
        ordering = ["organization", "created_at", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["serial_number"], condition=~models.Q(serial_number=""),
                                    name="tse_signingunit_unique_serial"),
            models.UniqueConstraint(fields=["organization", "reference"], condition=~models.Q(reference=""),
                                    name="tse_signingunit_unique_reference"),
        ]

    def __str__(self):
        return f"TSE {self.serial_number[:16] or self.public_id}"

    def save(self, *args, **kwargs):
        if self.max_clients is None:
            self.max_clients = DEFAULT_MAX_CLIENTS.get(self.backend, 199)
        super().save(*args, **kwargs)


class ClientState(models.TextChoices):
    REGISTERED = "registered", _("registered")
    DEREGISTERED = "deregistered", _("deregistered")


class TseClient(models.Model):
    """A POS (ERS) registered at a signing unit; ``client_id`` is the serial number of the POS."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="tse_clients",
                                     verbose_name=_("operator"))
    signing_unit = models.ForeignKey(SigningUnit, on_delete=models.PROTECT, related_name="clients",
                                     verbose_name=_("signing unit"))
    client_id = models.CharField(_("client id (POS serial number)"), max_length=30)
    state = models.CharField(_("state"), max_length=16, choices=ClientState.choices, default=ClientState.REGISTERED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("TSE client")
        verbose_name_plural = _("TSE clients")
        ordering = ["signing_unit", "client_id", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["signing_unit", "client_id"], name="tse_tseclient_unique_client_id"),
        ]

    def __str__(self):
        return self.client_id
