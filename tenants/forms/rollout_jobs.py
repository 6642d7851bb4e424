"""Form of the rollout apply page: version, dry run, and either a CSV upload or chosen operators + variables."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin

__all__ = ["CSV_MAX_BYTES", "RolloutApplyForm"]

CSV_MAX_BYTES = 2 * 1024 * 1024


class RolloutApplyForm(BootstrapFormMixin, forms.Form):
    version = forms.TypedChoiceField(label=_("Template version"), coerce=int)
    csv_file = forms.FileField(
        label=_("CSV file with the operators"), required=False,
        help_text=_("UTF-8, separated by ; or , with a header row. Column operator: the operator's id or your "
                    "reference; every other column is a variable of the template."))
    operators = forms.MultipleChoiceField(label=_("Or choose operators"), required=False,
                                          widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
                                          help_text=_("Operators that granted you the right to configure."))
    variables = forms.CharField(
        label=_("Variables for the chosen operators (JSON object)"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_("E.g. {\"store\": \"B01\"}; used with the operators chosen above, not with a CSV file."))
    dry_run = forms.BooleanField(label=_("Dry run: only plan, change nothing"), required=False)

    def __init__(self, *args, versions, operators, **kwargs):
        super().__init__(*args, **kwargs)
        self.versions = {version.number: version for version in versions}
        self.fields["version"].choices = [
            (version.number, _("Version {number}").format(number=version.number)
             + (f" · {version.note}" if version.note else "")) for version in versions]
        if versions and not self.is_bound:
            self.fields["version"].initial = versions[0].number
        self.fields["operators"].choices = [
            (str(operator.public_id), f"{operator.name} · {operator.reference}" if getattr(operator, "reference", "")
             else operator.name) for operator in operators]

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload and upload.size > CSV_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than {size} KB. Split it into smaller files.").format(
                size=CSV_MAX_BYTES // 1024))
        return upload

    def clean_variables(self):
        text = (self.cleaned_data.get("variables") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON: {error}").format(error=exc)) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Give a JSON object: {\"name\": value, …}."))
        return value

    def clean(self):
        data = super().clean()
        has_csv, has_operators = bool(data.get("csv_file")), bool(data.get("operators"))
        if has_csv and has_operators:
            raise forms.ValidationError(_("Upload a CSV file or choose operators, not both."))
        if not has_csv and not has_operators and not self.errors:
            raise forms.ValidationError(_("Upload a CSV file or choose at least one operator."))
        if has_csv and data.get("variables"):
            self.add_error("variables", _("With a CSV file the variables come from its columns."))
        return data

    @property
    def template_version(self):
        return self.versions.get(self.cleaned_data.get("version"))
