"""Forms of the TSE operator pages: create a software TSE, register a POS, disable, protocol filter, export."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tse.backends.software import CURVES
from tse.models import SigningUnit

__all__ = ["ClientForm", "DisableForm", "ExportForm", "ProtocolFilterForm", "SoftwareTseForm"]


class SoftwareTseForm(BootstrapFormMixin, forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    curve = forms.ChoiceField(label=_("Curve"), choices=[(curve, curve) for curve in CURVES], initial="P-256")


class ClientForm(BootstrapFormMixin, forms.Form):
    client_id = forms.CharField(label=_("Serial number of the POS (client id)"), max_length=30,
                                help_text=_("1 to 30 characters: letters, digits, space and ' ( ) + , - . : = ?"))


class DisableForm(BootstrapFormMixin, forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that disabling the TSE is irreversible: it can never sign again."), required=True)


class ExportForm(BootstrapFormMixin, forms.Form):
    time_from = forms.DateTimeField(label=_("From (log time)"), required=False,
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    time_to = forms.DateTimeField(label=_("Until (log time)"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self):
        data = super().clean()
        if data.get("time_from") and data.get("time_to") and data["time_from"] > data["time_to"]:
            raise forms.ValidationError(_("The start of the time range must not be after its end."))
        return data


class ProtocolFilterForm(BootstrapFormMixin, forms.Form):
    SHOW_TRANSACTIONS = "transactions"
    SHOW_SYSTEM_LOG = "system"

    show = forms.ChoiceField(label=_("Show"), required=False, choices=[
        (SHOW_TRANSACTIONS, _("Transactions")), (SHOW_SYSTEM_LOG, _("System log"))])
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
        return self.is_bound and self.is_valid() and self.cleaned_data.get("show") == self.SHOW_SYSTEM_LOG
