"""Forms of the premises feature: Betriebsstätten, outlets, closing."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import Betriebsstaette, Outlet
from tenants.validators import validate_country_code, validate_german_postal_code

__all__ = ["BetriebsstaetteForm", "CloseForm", "OutletForm", "add_service_errors"]


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` onto the form, field by field where the form has the field."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


class AddressFormMixin:
    def clean_country(self):
        value = (self.cleaned_data.get("country") or "").strip().upper()
        validate_country_code(value)
        return value

    def clean(self):
        data = super().clean()
        if data.get("postal_code") and data.get("country"):
            try:
                validate_german_postal_code(data["country"], data["postal_code"])
            except ValidationError as exc:
                self.add_error("postal_code", exc)
        return data


class BetriebsstaetteForm(AddressFormMixin, BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Betriebsstaette
        fields = ["name", "street", "house_number", "postal_code", "city", "country", "remarks"]
        widgets = {"remarks": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "name": _("How the tax office knows this site, e.g. 'Café Hauptstraße'."),
            "remarks": _("Free remarks for the tax-office notification (individual information on the site)."),
        }


class BetriebsstaetteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        if obj.closed_on:
            return _("%(name)s (closed on %(date)s)") % {"name": obj.name, "date": obj.closed_on.strftime("%d.%m.%Y")}
        return obj.name


class OutletForm(AddressFormMixin, BootstrapFormMixin, forms.ModelForm):
    number = forms.IntegerField(
        label=_("outlet number"), required=False, min_value=1,
        help_text=_("Leave empty for the next free number. The number cannot be changed later."),
    )
    # The queryset is set per organization in __init__ (never a list of every organization's sites).
    betriebsstaette = BetriebsstaetteChoiceField(
        label=_("Betriebsstätte"), queryset=Betriebsstaette.unscoped.none(), required=False,
        help_text=_("The tax premises this outlet belongs to; several outlets can share one."),
    )

    class Meta:
        model = Outlet
        fields = ["number", "name", "betriebsstaette", "street", "house_number", "postal_code", "city", "country"]

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Betriebsstaette.unscoped.filter(organization_id=organization.pk)
        if self.instance.pk is None:
            queryset = queryset.filter(closed_on__isnull=True)
        else:
            # the current one stays selectable even when it is closed (re-saving changes nothing)
            queryset = queryset.filter(closed_on__isnull=True) | queryset.filter(pk=self.instance.betriebsstaette_id)
            number = self.fields["number"]
            number.disabled = True
            number.required = False
            number.help_text = _("The outlet number cannot be changed.")
            number.initial = self.instance.number
        self.fields["betriebsstaette"].queryset = queryset.order_by("name", "pk")

    def _post_clean(self):
        # The organization's uniqueness of the number is checked by the service under a lock.
        number = self.cleaned_data.pop("number", None)
        super()._post_clean()
        self.cleaned_data["number"] = number


class CloseForm(BootstrapFormMixin, forms.Form):
    closed_on = forms.DateField(
        label=_("closed on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Closing cannot be undone. The data stay, nothing is deleted."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed_on"].initial = timezone.localdate()

    def clean_closed_on(self):
        value = self.cleaned_data["closed_on"]
        if value > timezone.localdate():
            raise ValidationError(_("The closing date cannot be in the future."), code="closed_on_in_future")
        return value
