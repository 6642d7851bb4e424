"""Forms of the configuration pages: upload of a configuration document and confirmation of its plan."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin

__all__ = ["MAX_DOCUMENT_BYTES", "ConfirmImportForm", "ImportForm", "parse_document"]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


def parse_document(text: str) -> dict:
    """The JSON object in ``text``; ``ValidationError`` when it is no JSON or not an object."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationError(_("The file is not valid JSON: %(error)s"), code="json",
                              params={"error": str(exc)}) from exc
    if not isinstance(document, dict):
        raise ValidationError(_("The configuration must be a JSON object."), code="json")
    return document


class ImportForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label=_("Configuration file (JSON)"),
                           help_text=_("A document as downloaded with “Export JSON”, format "
                                       "kassenportal.configuration/1."))
    summary = forms.CharField(label=_("Summary of the change"), max_length=300, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise ValidationError(_("The file is larger than 5 MB."), code="size")
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is not UTF-8 encoded text."), code="encoding") from exc
        self.document = parse_document(text)
        return upload


class ConfirmImportForm(BootstrapFormMixin, forms.Form):
    """The previewed document sent back on confirmation, with the digest of the configuration it was planned on."""

    document = forms.CharField(widget=forms.HiddenInput, max_length=MAX_DOCUMENT_BYTES)
    base_digest = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    summary = forms.CharField(widget=forms.HiddenInput, max_length=300, required=False)

    def clean_document(self):
        self.parsed = parse_document(self.cleaned_data["document"])
        return self.cleaned_data["document"]
