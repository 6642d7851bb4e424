"""Forms of the rollout-template pages. The rules live in tenants.services.rollout.templates."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.services.rollout.templates import NAME_MAX, NOTE_MAX

__all__ = ["ShareForm", "TemplateForm", "TemplateUpdateForm", "VersionForm"]


class DocumentField(forms.CharField):
    """A JSON document in a textarea; parsed into a dict."""

    widget = forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "font-monospace"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return text
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(_("This is not valid JSON (line %(line)s, column %(column)s: %(problem)s)."),
                                  code="json", params={"line": exc.lineno, "column": exc.colno,
                                                       "problem": exc.msg}) from None
        if not isinstance(document, dict):
            raise ValidationError(_("The template must be a JSON object."), code="json")
        return document

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return value


class VersionForm(BootstrapFormMixin, forms.Form):
    document = DocumentField(label=_("Template (JSON)"),
                             help_text=_("Format kassenportal.rollout-template/1; variables as {{ name }}."))
    note = forms.CharField(label=_("Change note"), max_length=NOTE_MAX, required=False)


class TemplateForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    document = DocumentField(label=_("Template (JSON)"),
                             help_text=_("Format kassenportal.rollout-template/1; variables as {{ name }}."))
    note = forms.CharField(label=_("Change note"), max_length=NOTE_MAX, required=False)


class TemplateUpdateForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class ShareForm(BootstrapFormMixin, forms.Form):
    dealer = forms.ChoiceField(label=_("Dealer"))

    def __init__(self, *args, dealers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.dealers = {str(dealer.public_id): dealer for dealer in dealers}
        self.fields["dealer"].choices = [(key, dealer.name) for key, dealer in self.dealers.items()]

    def clean_dealer(self):
        return self.dealers[self.cleaned_data["dealer"]]
