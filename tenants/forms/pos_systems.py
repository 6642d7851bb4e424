"""Forms of the POS systems pages (creator side). The rules themselves live in tenants.services.pos_systems."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import PosSystem, PosSystemType
from tenants.services.pos_systems import MASTER_DATA_MAX_LENGTH

__all__ = ["PosSystemCreateForm", "PosSystemForm", "PosSystemVersionForm", "ShareForm"]


class PosSystemForm(BootstrapFormMixin, forms.ModelForm):
    """Name, manufacturer, model and type of a POS system."""

    brand = forms.CharField(label=_("Brand / manufacturer"), max_length=MASTER_DATA_MAX_LENGTH,
                            help_text=_("Appears as KASSE_BRAND in DSFinV-K exports and as manufacturer in the "
                                        "tax office notification."))
    model = forms.CharField(label=_("Model"), max_length=MASTER_DATA_MAX_LENGTH,
                            help_text=_("KASSE_MODELL in DSFinV-K exports. For pure software often the software "
                                        "name again."))
    system_type = forms.ChoiceField(label=_("Type"), choices=PosSystemType.choices,
                                    help_text=_("Type of the electronic recording system (§ 146a (4) AO). If "
                                                "unsure, choose the PC POS system."))

    class Meta:
        model = PosSystem
        fields = ["name", "brand", "model", "system_type", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PosSystemCreateForm(PosSystemForm):
    """A new POS system with its first software version."""

    software_name = forms.CharField(label=_("Software name"), max_length=MASTER_DATA_MAX_LENGTH,
                                    help_text=_("KASSE_SW_BRAND in DSFinV-K exports."))
    software_version = forms.CharField(label=_("Software version"), max_length=MASTER_DATA_MAX_LENGTH,
                                       help_text=_("KASSE_SW_VERSION in DSFinV-K exports."))
    released_on = forms.DateField(label=_("Released on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class PosSystemVersionForm(BootstrapFormMixin, forms.Form):
    software_version = forms.CharField(label=_("Software version"), max_length=MASTER_DATA_MAX_LENGTH)
    software_name = forms.CharField(label=_("Software name"), max_length=MASTER_DATA_MAX_LENGTH, required=False,
                                    help_text=_("Leave empty to keep the name of the latest version."))
    released_on = forms.DateField(label=_("Released on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class ShareForm(BootstrapFormMixin, forms.Form):
    """A dealer by its organization id or by the e-mail address of one of its members."""

    dealer = forms.CharField(
        label=_("Public id of the dealer or e-mail address"), max_length=254,
        help_text=_("The dealer finds its public id under Company data. Unknown e-mail addresses get an "
                    "invitation to register as a dealer."),
    )

    def clean_dealer(self):
        value = self.cleaned_data["dealer"].strip()
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(_("Enter a valid e-mail address or organization id.")) from None
            return {"email": value.lower()}
        try:
            return {"dealer_id": uuid.UUID(value)}
        except ValueError:
            raise ValidationError(_("Enter a valid e-mail address or organization id.")) from None
