"""Forms of the partners feature: operator invitations, CSV import, acceptance, link requests, rights.

The forms only collect input; the business rules (mandatory fields, duplicates, rights) live in
``tenants.services.partners`` so the pages, the API and the CSV import check exactly the same.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin
from tenants.forms import OrganizationForm, PasswordFieldsMixin
from tenants.models import AccessRight, LegalForm
from tenants.services.partners import CSV_MAX_BYTES, INVITATION_STATUSES, OVERVIEW_STATUSES

__all__ = [
    "AcceptRightsForm",
    "ChooseOperatorForm",
    "InvitationFilterForm",
    "InvitationImportForm",
    "LinkRequestForm",
    "OperatorInvitationForm",
    "OperatorRegistrationForm",
    "OverviewFilterForm",
    "apply_service_errors",
]

NEW_COMPANY = "new"


def apply_service_errors(form, error) -> None:
    """Put the field errors of a ``PartnerError`` on the form's fields (the rest on the form)."""
    details = error.details if isinstance(error.details, dict) else {}
    placed = False
    for name, messages in details.items():
        if not isinstance(messages, list | tuple):
            continue
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _right_choices(rights=None):
    return [(value, label) for value, label in AccessRight.choices if rights is None or value in rights]


class OperatorInvitationForm(BootstrapFormMixin, forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    legal_form = forms.ChoiceField(label=_("Legal form"), required=False,
                                   choices=[("", "—"), *LegalForm.choices])
    street = forms.CharField(label=_("Street and number"), max_length=200)
    postal_code = forms.CharField(label=_("Postal code"), max_length=10)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, initial="DE")
    vat_id = forms.CharField(label=_("VAT id"), max_length=20, required=False)
    contact_first_name = forms.CharField(label=_("Contact first name"), max_length=100)
    contact_last_name = forms.CharField(label=_("Contact last name"), max_length=100)
    contact_email = forms.EmailField(label=_("Contact e-mail address"),
                                     help_text=_("The invitation goes here; it becomes the operator's login."))
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    external_reference = forms.CharField(label=_("Your reference"), max_length=100, required=False,
                                         help_text=_("E.g. your customer number; only you see it."))
    personal_message = forms.CharField(label=_("Personal message"), max_length=400, required=False,
                                       widget=forms.Textarea(attrs={"rows": 3, "maxlength": 400}),
                                       help_text=_("At most 400 characters; it is part of the invitation e-mail."))
    rights = forms.MultipleChoiceField(label=_("Access rights you ask for"), choices=_right_choices(),
                                       widget=forms.CheckboxSelectMultiple, required=False, initial=["read"],
                                       help_text=_("The operator decides which of them to grant."))


class InvitationImportForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by ; or , with a header row. Required columns: company_name, street, "
                    "postal_code, city, country, contact_first_name, contact_last_name, contact_email. Optional: "
                    "vat_id, phone, external_reference, personal_message, rights (e.g. “read configure”)."),
    )
    rights = forms.MultipleChoiceField(label=_("Rights to ask for where the file has no rights column"),
                                       choices=_right_choices(), widget=forms.CheckboxSelectMultiple, required=False,
                                       initial=["read"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > CSV_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than {size} KB. Split it into smaller files.").format(
                size=CSV_MAX_BYTES // 1024))
        return upload


class InvitationFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "")] + [(s, s) for s in INVITATION_STATUSES])
    q = forms.CharField(required=False, max_length=100)


class OverviewFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "")] + [(s, s) for s in OVERVIEW_STATUSES])
    q = forms.CharField(required=False, max_length=100)


class OperatorRegistrationForm(OrganizationForm, PasswordFieldsMixin):
    """A new person and company from an operator invitation (the e-mail address is the invitation's)."""

    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    accept_terms = forms.BooleanField(label=_("I register this company and am authorised to act for it."))

    class Meta(OrganizationForm.Meta):
        pass

    def __init__(self, *args, invitation, **kwargs):
        self.invitation = invitation
        kwargs.setdefault("initial", {
            "name": invitation.company_name, "legal_form": invitation.legal_form, "street": invitation.street,
            "postal_code": invitation.postal_code, "city": invitation.city, "country": invitation.country,
            "vat_id": invitation.vat_id, "phone": invitation.phone, "email": invitation.contact_email,
            "full_name": f"{invitation.contact_first_name} {invitation.contact_last_name}".strip(),
        })
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Company e-mail address")
        self.order_fields(["full_name", "password1", "password2", "name", "legal_form", "street", "postal_code",
                           "city", "country", "tax_number", "vat_id", "w_idnr", "email", "phone", "accept_terms"])

    def clean(self):
        data = super().clean()
        self._validate_password(get_user_model()(email=self.invitation.contact_email,
                                                 full_name=data.get("full_name", "")))
        return data


class NewCompanyForm(OrganizationForm):
    """The company data for an existing user who accepts for a new company."""

    def __init__(self, *args, invitation, **kwargs):
        kwargs.setdefault("initial", {
            "name": invitation.company_name, "legal_form": invitation.legal_form, "street": invitation.street,
            "postal_code": invitation.postal_code, "city": invitation.city, "country": invitation.country,
            "vat_id": invitation.vat_id, "phone": invitation.phone, "email": invitation.contact_email,
        })
        kwargs.setdefault("prefix", "new")
        super().__init__(*args, **kwargs)


class ChooseOperatorForm(BootstrapFormMixin, forms.Form):
    organization = forms.ChoiceField(label=_("Accept for"), widget=forms.RadioSelect)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(org.public_id): org for org in candidates}
        self.fields["organization"].choices = [
            *((key, org.name) for key, org in self.candidates.items()),
            (NEW_COMPANY, _("A new company (enter its data below)")),
        ]
        self.fields["organization"].initial = next(iter(self.candidates), NEW_COMPANY)

    @property
    def chosen(self):
        """The chosen organization, or None for a new company."""
        return self.candidates.get(self.cleaned_data["organization"])


class AcceptRightsForm(BootstrapFormMixin, forms.Form):
    rights = forms.MultipleChoiceField(label=_("Rights you grant"), widget=forms.CheckboxSelectMultiple,
                                       required=False)

    def __init__(self, *args, requested, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rights"].choices = _right_choices(requested)
        self.fields["rights"].initial = list(requested)
        self.fields["rights"].help_text = _("Untick what you do not want to grant. You can change it at any time.")


class LinkRequestForm(BootstrapFormMixin, forms.Form):
    dealer = forms.CharField(
        label=_("Dealer id or e-mail address"), max_length=254,
        help_text=_("The dealer's id (shown in its account) or the exact e-mail address of someone working there."),
    )

    def lookup(self) -> dict:
        value = self.cleaned_data["dealer"].strip()
        return {"email": value} if "@" in value else {"dealer_id": value}
