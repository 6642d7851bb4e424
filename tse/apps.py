from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TseConfig(AppConfig):
    name = "tse"
    verbose_name = _("Signing units (TSE)")
