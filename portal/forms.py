from django import forms
from django.utils.translation import gettext_lazy as _

from portal.form_styling import BootstrapFormMixin

__all__ = ["LoginForm", "TwoFactorCodeForm"]


class LoginForm(BootstrapFormMixin, forms.Form):
    username = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autofocus": True,
                                                                                       "autocomplete": "email"}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TwoFactorCodeForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app or a backup code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
