"""Forms of the DSFinV-K pages: cash registers, decommissioning, own VAT keys, the closings filter.

The forms only parse input; the rules are the services' (``exports.services.cash_registers``),
whose field errors the views put back onto the form fields.
"""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exports.models import ClosingState, DecommissionReason, VatSlot
from portal.form_styling import BootstrapFormMixin

__all__ = ["CashRegisterForm", "ClosingFilterForm", "DecommissionForm", "ReplaceTseForm", "VatDefinitionForm"]


def _version_label(version) -> str:
    system = version.pos_system
    return f"{system.brand} {system.name} – {version.software_name} {version.software_version}"


class CashRegisterForm(BootstrapFormMixin, forms.Form):
    """Create (with ``client``) or edit (without: the client never changes) a cash register."""

    client = forms.ModelChoiceField(
        label=_("POS (TSE client)"), queryset=None, to_field_name="public_id",
        help_text=_("A POS registered at one of your signing units that is not a cash register yet. Its serial "
                    "number becomes KASSE_SERIENNR and must not contain '/' or '_'."))
    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=None, to_field_name="public_id")
    pos_system_version = forms.ModelChoiceField(
        label=_("POS system and version"), queryset=None, to_field_name="public_id",
        help_text=_("Any version of a POS system of the portal's catalogue that is not retired."))
    base_currency = forms.CharField(label=_("Base currency (ISO 4217)"), max_length=3, initial="EUR")
    no_vat_assignment = forms.BooleanField(
        label=_("The register cannot determine the VAT of its sales (KEINE_UST_ZUORDNUNG)"), required=False)
    acquired_on = forms.DateField(
        label=_("Acquired on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Invoice or delivery date, or the start of the lease (tax-office notification). Empty: the day "
                    "the cash register was created."))
    commissioned_on = forms.DateField(
        label=_("Commissioned on"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("First day in use at this Betriebsstätte. Empty: the day the cash register was created."))

    def __init__(self, *args, organization, cash_register=None, **kwargs):
        from exports.services.cash_registers import selectable_pos_system_versions, unused_clients
        from tenants.models import Outlet

        if cash_register is not None and not args and "data" not in kwargs:
            kwargs.setdefault("initial", {
                "outlet": cash_register.outlet.public_id,
                "pos_system_version": cash_register.pos_system_version.public_id,
                "base_currency": cash_register.base_currency,
                "no_vat_assignment": cash_register.no_vat_assignment,
                "acquired_on": cash_register.acquired_on,
                "commissioned_on": cash_register.commissioned_on,
            })
        super().__init__(*args, **kwargs)
        outlets = Outlet.objects.filter(organization=organization).order_by("number", "pk")
        versions = selectable_pos_system_versions()
        if cash_register is None:
            self.fields["client"].queryset = unused_clients(organization)
            self.fields["client"].label_from_instance = lambda client: (
                f"{client.client_id} ({client.signing_unit.description or _('TSE')})")
            outlets = outlets.filter(closed_on__isnull=True)
        else:
            del self.fields["client"]
            outlets = outlets.filter(Q(closed_on__isnull=True) | Q(pk=cash_register.outlet_id))
            versions = selectable_pos_system_versions(including=cash_register.pos_system_version_id)
        self.fields["outlet"].queryset = outlets
        self.fields["pos_system_version"].queryset = versions
        self.fields["pos_system_version"].label_from_instance = _version_label


class DecommissionForm(BootstrapFormMixin, forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), required=True, choices=[("", _("– please choose –")), *DecommissionReason.choices],
        help_text=_("Reported to the tax office with the decommissioning (§ 146a (4) AO)."))
    note = forms.CharField(label=_("Note on the reason"), max_length=200, required=False)
    confirm = forms.BooleanField(
        label=_("I understand that a decommissioned cash register can no longer be changed or closed."),
        required=True)


class ReplaceTseForm(BootstrapFormMixin, forms.Form):
    """The new TSE of a cash register: one of the operator's other initialized signing units."""

    signing_unit = forms.ModelChoiceField(
        label=_("New TSE"), queryset=None, to_field_name="public_id",
        help_text=_("The POS is registered at the new TSE with the same serial number; the old TSE keeps its data "
                    "for exports. Notify the tax office of the new TSE within one month."))

    def __init__(self, *args, cash_register, **kwargs):
        from exports.services.tse_replacement import describe_unit, replacement_units

        super().__init__(*args, **kwargs)
        self.fields["signing_unit"].queryset = replacement_units(cash_register)
        self.fields["signing_unit"].label_from_instance = describe_unit


class VatDefinitionForm(BootstrapFormMixin, forms.Form):
    key = forms.IntegerField(label=_("VAT key (UST_SCHLUESSEL)"), min_value=1000,
                             help_text=_("Own keys start at 1000; 1–999 are defined by DSFinV-K (Anlage 2)."))
    rate = forms.DecimalField(label=_("Rate (%)"), min_value=0, max_value=100, max_digits=5, decimal_places=2)
    description = forms.CharField(label=_("Description (UST_BESCHR)"), max_length=55)
    slot = forms.ChoiceField(label=_("processData slot"), choices=VatSlot.choices,
                             help_text=_("Which of the five Kassenbeleg-V1 amounts the key's sales fall on."))


class ClosingFilterForm(BootstrapFormMixin, forms.Form):
    cash_register = forms.ChoiceField(label=_("Cash register"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("all")), *ClosingState.choices])

    def __init__(self, *args, registers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cash_register"].choices = [("", _("all")),
                                                *[(str(r.public_id), r.kasse_id) for r in registers]]
