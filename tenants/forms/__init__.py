from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.models import MembershipRole, Organization, RoleKind
from tenants.validators import (
    normalize_tax_number,
    normalize_vat_id,
    normalize_w_idnr,
    validate_german_postal_code,
    validate_tax_number,
    validate_vat_id,
    validate_w_idnr,
)

__all__ = ["AcceptInvitationForm", "ApiKeyForm", "InviteColleagueForm", "OrganizationForm", "RegistrationForm"]


class OrganizationForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name", "legal_form", "street", "postal_code", "city", "country", "tax_number", "vat_id", "w_idnr", "email",
            "phone",
        ]

    def clean_tax_number(self):
        value = normalize_tax_number(self.cleaned_data.get("tax_number", ""))
        validate_tax_number(value)
        return value

    def clean_vat_id(self):
        value = normalize_vat_id(self.cleaned_data.get("vat_id", ""))
        validate_vat_id(value)
        return value

    def clean_w_idnr(self):
        value = normalize_w_idnr(self.cleaned_data.get("w_idnr", ""))
        validate_w_idnr(value)
        return value

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean(self):
        data = super().clean()
        if data.get("postal_code"):
            try:
                validate_german_postal_code(data.get("country", "DE"), data["postal_code"])
            except ValidationError as exc:
                self.add_error("postal_code", exc)
        return data


class PasswordFieldsMixin(BootstrapFormMixin, forms.Form):
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=_("At least 10 characters, not only digits, not a common password."))
    password2 = forms.CharField(label=_("Repeat password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_password2(self):
        p1, p2 = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if p1 and p2 and p1 != p2:
            raise ValidationError(_("The two passwords differ."))
        return p2

    def _validate_password(self, user):
        password = self.cleaned_data.get("password1")
        if password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                self.add_error("password1", exc)


class RegistrationForm(OrganizationForm, PasswordFieldsMixin):
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    email = forms.EmailField(label=_("Your e-mail address"))
    roles = forms.MultipleChoiceField(
        label=_("What does your company do?"), choices=RoleKind.choices, widget=forms.CheckboxSelectMultiple,
        help_text=_("Each role becomes active once its contract is signed."),
    )
    accept_terms = forms.BooleanField(label=_("I register this company and am authorised to act for it."))

    class Meta(OrganizationForm.Meta):
        pass

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An account with this e-mail address exists already. Please log in."))
        return email

    def clean(self):
        data = super().clean()
        self._validate_password(get_user_model()(email=data.get("email", ""), full_name=data.get("full_name", "")))
        return data


class AcceptInvitationForm(PasswordFieldsMixin):
    full_name = forms.CharField(label=_("Your full name"), max_length=200)

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)
        self.order_fields(["full_name", "password1", "password2"])

    def clean(self):
        data = super().clean()
        self._validate_password(get_user_model()(email=self.email, full_name=data.get("full_name", "")))
        return data


class InviteColleagueForm(BootstrapFormMixin, forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices, initial=MembershipRole.MEMBER)


class MemberRoleForm(BootstrapFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices)


class ApiKeyForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. 'POS rollout'."))
    can_write = forms.BooleanField(label=_("Write access"), required=False,
                                   help_text=_("Without it the key can only read."))
    pos_device = forms.BooleanField(
        label=_("POS device (signing API only)"), required=False,
        help_text=_("For a till: the key may use only the signing API (/api/v1/tss…) of this organization, "
                    "with write access, and nothing else."))
    expires_at = forms.DateTimeField(label=_("Expires at (optional)"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
