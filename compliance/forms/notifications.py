"""Forms of the notification pages: generate a notification file, confirm its submission in Mein ELSTER."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from portal.form_styling import BootstrapFormMixin

__all__ = ["ConfirmSubmissionForm", "GenerateNotificationForm"]


class GenerateNotificationForm(BootstrapFormMixin, forms.Form):
    """Which Betriebsstätte, and the day the data is taken as of (default today)."""

    betriebsstaette = forms.UUIDField(widget=forms.HiddenInput)
    as_of = forms.DateField(label=gettext_lazy("Data as of"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean_as_of(self):
        return self.cleaned_data.get("as_of") or timezone.localdate()


class ConfirmSubmissionForm(BootstrapFormMixin, forms.Form):
    submitted_on = forms.DateField(label=gettext_lazy("Submitted in Mein ELSTER on"),
                                   widget=forms.DateInput(attrs={"type": "date"}))
    transfer_ticket = forms.CharField(label=gettext_lazy("ELSTER transfer ticket"), max_length=100,
                                      help_text=gettext_lazy("Shown by Mein ELSTER after the upload and in the "
                                                             "transmission protocol."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submitted_on", timezone.localdate().isoformat())
