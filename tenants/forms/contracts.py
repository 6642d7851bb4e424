"""Forms of the contracts feature: typed-name signatures and applying for a role."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import RoleKind

__all__ = ["ApplyForRoleForm", "CountersignForm", "SignContractForm", "TerminateRoleForm"]


class TypedNameSignatureForm(BootstrapFormMixin, forms.Form):
    """Typed full name, consent and the hash of the text shown. The service checks them all (the
    form only carries them), so pages and API refuse the same things with the same codes."""

    text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    typed_name = forms.CharField(
        label=_("Your full name"), max_length=200,
        help_text=_("Type your full name exactly as it is stored in your account. It counts as your signature."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    consent = forms.BooleanField(
        label=_("I have read the contract and accept it on behalf of the organization."),
        required=False, widget=forms.CheckboxInput(attrs={"required": True}),
    )


class SignContractForm(TypedNameSignatureForm):
    language = forms.ChoiceField(widget=forms.HiddenInput, choices=[("de", "Deutsch"), ("en", "English")])
    next = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)


class TerminateRoleForm(SignContractForm):
    consent = forms.BooleanField(
        label=_("I terminate this contract and the role on behalf of the organization."),
        required=False, widget=forms.CheckboxInput(attrs={"required": True}),
    )


class CountersignForm(TypedNameSignatureForm):
    pass


class ApplyForRoleForm(BootstrapFormMixin, forms.Form):
    role_kind = forms.ChoiceField(label=_("Role"), choices=RoleKind.choices)

    def __init__(self, *args, available=None, **kwargs):
        super().__init__(*args, **kwargs)
        if available is not None:
            self.fields["role_kind"].choices = [(k, v) for k, v in RoleKind.choices if k in available]
