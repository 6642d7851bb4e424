"""Forms of the TSE operator pages: create a software TSE, register a POS, disable, protocol filter, export."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tse.backends.software import CURVES
from tse.models import SigningUnit

__all__ = [
    "ClientForm",
    "DisableForm",
    "ExportForm",
    "FiskalyTseForm",
    "LanConnectionForm",
    "LanTseForm",
    "ProtocolFilterForm",
    "SoftwareTseForm",
    "SoftwareUnitForm",
]


class SoftwareTseForm(BootstrapFormMixin, forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    curve = forms.ChoiceField(label=_("Curve"), choices=[(curve, curve) for curve in CURVES], initial="P-256")


class _UnitPlacementMixin:
    """Outlet (optional, one of the operator's) and description of a new signing unit."""

    def _add_placement_fields(self, organization):
        from tenants.models import Outlet

        self.fields["outlet"] = forms.ModelChoiceField(
            label=_("Outlet"), required=False, to_field_name="public_id", empty_label="–",
            queryset=Outlet.objects.filter(organization=organization).order_by("number", "pk"))
        self.fields["description"] = forms.CharField(label=_("Description"), max_length=200, required=False)


def _mode_field():
    from django.conf import settings

    from tse.models import SigningUnitMode

    initial = SigningUnitMode.LIVE if settings.PORTAL_ENVIRONMENT == "live" else SigningUnitMode.TEST
    return forms.ChoiceField(label=_("Mode"), choices=SigningUnitMode.choices, initial=initial)


class SoftwareUnitForm(_UnitPlacementMixin, SoftwareTseForm):
    """Create a software TSE: outlet, description, curve (always mode ``test``)."""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_placement_fields(organization)
        self.order_fields(["outlet", "description", "curve"])
        _style(self)


class FiskalyTseForm(_UnitPlacementMixin, BootstrapFormMixin, forms.Form):
    """Create a fiskaly SIGN DE unit: outlet, description, mode."""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_placement_fields(organization)
        self.fields["mode"] = _mode_field()
        _style(self)


class _LanFieldsMixin:
    def _add_lan_fields(self, *, token_required: bool):
        from tse.models.connections import DEFAULT_LAN_TSE_PORT
        from tse.services.connections import LAN_TOKEN_MAX_LENGTH, MAX_LAN_CLIENTS

        self.fields["host"] = forms.CharField(
            label=_("Host"), max_length=253,
            help_text=_("Host name or IP address of the TSE in the shop's network, without scheme or port."))
        self.fields["port"] = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535,
                                                 initial=DEFAULT_LAN_TSE_PORT)
        self.fields["token"] = forms.CharField(
            label=_("API token"), max_length=LAN_TOKEN_MAX_LENGTH, required=token_required,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            help_text=_("Stored encrypted and never shown again.") if token_required else
            _("Leave empty to keep the stored token."))
        self.fields["max_clients"] = forms.IntegerField(label=_("Maximum number of clients"), min_value=1,
                                                        max_value=MAX_LAN_CLIENTS, initial=3)


class LanTseForm(_UnitPlacementMixin, _LanFieldsMixin, BootstrapFormMixin, forms.Form):
    """Create a LAN TSE unit: outlet, description, mode, host, port, API token, serial number, max clients."""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_placement_fields(organization)
        self.fields["mode"] = _mode_field()
        self._add_lan_fields(token_required=True)
        self.fields["tse_serial_number"] = forms.CharField(
            label=_("TSE serial number"), max_length=64,
            help_text=_("The hex SHA-256 of the TSE's public key (64 hex digits), as the TSE reports it."))
        self.order_fields(["outlet", "description", "mode", "host", "port", "token", "tse_serial_number",
                           "max_clients"])
        _style(self)


class LanConnectionForm(_LanFieldsMixin, BootstrapFormMixin, forms.Form):
    """Change the connection of a LAN TSE; an empty token keeps the stored one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_lan_fields(token_required=False)
        _style(self)


def _style(form) -> None:
    """Bootstrap classes for fields added after ``BootstrapFormMixin.__init__`` ran."""
    for field in form.fields.values():
        widget = field.widget
        if "class" in widget.attrs:
            continue
        widget.attrs["class"] = "form-select" if isinstance(widget, forms.Select) else "form-control"


class ClientForm(BootstrapFormMixin, forms.Form):
    client_id = forms.CharField(label=_("Serial number of the POS (client id)"), max_length=30,
                                help_text=_("1 to 30 characters: letters, digits, space and ' ( ) + , - . : = ?"))


class DisableForm(BootstrapFormMixin, forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that disabling the TSE is irreversible: it can never sign again."), required=True)


class ExportForm(BootstrapFormMixin, forms.Form):
    """Start a TAR export job: log-time range as calendar days in Europe/Berlin, transaction numbers, POS."""

    date_from = forms.DateField(label=_("From (day)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until (day, inclusive)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    start_transaction_number = forms.IntegerField(label=_("From transaction number"), min_value=1, required=False)
    end_transaction_number = forms.IntegerField(label=_("To transaction number"), min_value=1, required=False)
    client_id = forms.ChoiceField(label=_("POS (client id)"), required=False)

    def __init__(self, *args, signing_unit, **kwargs):
        from tse.models import TseClient

        super().__init__(*args, **kwargs)
        clients = TseClient.unscoped.filter(signing_unit=signing_unit).order_by("client_id")
        self.fields["client_id"].choices = [("", _("all")), *[(c.client_id, c.client_id) for c in clients]]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start of the time range must not be after its end."))
        low, high = data.get("start_transaction_number"), data.get("end_transaction_number")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("The first transaction number must not be greater than the last one."))
        return data

    def export_filters(self) -> dict:
        """Keyword arguments of ``request_export`` (days → Berlin midnight / end of day; call when valid)."""
        from datetime import datetime, time
        from zoneinfo import ZoneInfo

        berlin = ZoneInfo("Europe/Berlin")
        data = self.cleaned_data
        return {
            "start_time": datetime.combine(data["date_from"], time.min, tzinfo=berlin) if data["date_from"] else None,
            "end_time": datetime.combine(data["date_to"], time.max, tzinfo=berlin) if data["date_to"] else None,
            "start_transaction_number": data["start_transaction_number"],
            "end_transaction_number": data["end_transaction_number"],
            "client_id": data["client_id"],
        }


class ProtocolFilterForm(BootstrapFormMixin, forms.Form):
    SHOW_TRANSACTIONS = "transactions"
    SHOW_SYSTEM_LOG = "system"
    SHOW_FAILURES = "failures"
    SHOW_OUTAGES = "outages"

    show = forms.ChoiceField(label=_("Show"), required=False, choices=[
        (SHOW_TRANSACTIONS, _("Transactions")), (SHOW_SYSTEM_LOG, _("System log")),
        (SHOW_FAILURES, _("Failed signings")), (SHOW_OUTAGES, _("Outages"))])
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    signing_unit = forms.ModelChoiceField(label=_("Signing unit (TSE)"), queryset=SigningUnit.unscoped.none(),
                                          required=False, to_field_name="public_id")
    client = forms.CharField(label=_("POS (client id)"), max_length=30, required=False)
    number = forms.IntegerField(label=_("Transaction number"), min_value=1, required=False)
    process_type = forms.ChoiceField(label=_("Process type"), required=False)
    unsigned_only = forms.BooleanField(label=_("Failed/unsigned only"), required=False)

    def __init__(self, *args, organization, process_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signing_unit"].queryset = SigningUnit.objects.filter(organization=organization)
        self.fields["signing_unit"].label_from_instance = lambda unit: (
            f"{unit.description or _('TSE')} ({unit.serial_number[:12]})")
        self.fields["process_type"].choices = [("", "—"), *[(value, value) for value in process_types]]

    def filters(self) -> dict:
        """Keyword arguments for ``protocol_transactions``; empty (everything) when unbound.

        Call it only when the form is unbound or valid (``is_bound and not is_valid()`` is a bad filter).
        """
        if not self.is_bound:
            return {}
        data = dict(self.cleaned_data)
        data.pop("show", None)
        return data

    @property
    def shows_system_log(self) -> bool:
        return self.shows == self.SHOW_SYSTEM_LOG

    @property
    def shows(self) -> str:
        """Which list the protocol shows (transactions when unbound or invalid)."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get("show") or self.SHOW_TRANSACTIONS
        return self.SHOW_TRANSACTIONS
