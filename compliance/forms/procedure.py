"""Forms of the procedure documentation pages: the free-text sections and the "generate" button's change note."""

from django import forms
from django.utils.translation import gettext_lazy

from compliance.services.procedure import NOTE_MAX_LENGTH, SECTION_MAX_LENGTH, SECTIONS
from portal.form_styling import BootstrapFormMixin

__all__ = ["GenerateProcedureForm", "ProcedureSectionsForm"]


class ProcedureSectionsForm(BootstrapFormMixin, forms.Form):
    """One textarea per section (``SECTIONS``), with the GoBD guidance as help text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for section in SECTIONS:
            field = forms.CharField(label=section.title, help_text=section.guidance, required=False,
                                    max_length=SECTION_MAX_LENGTH, strip=True,
                                    widget=forms.Textarea(attrs={"rows": 6}))
            field.widget.attrs["class"] = (field.widget.attrs.get("class", "") + " form-control").strip()
            self.fields[section.key] = field

    def section_fields(self):
        return [self[section.key] for section in SECTIONS]


class GenerateProcedureForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=gettext_lazy("Change note (optional)"), required=False, max_length=NOTE_MAX_LENGTH)
