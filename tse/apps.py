from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TseConfig(AppConfig):
    name = "tse"
    verbose_name = _("Signing units (TSE)")

    def ready(self):
        from tse.backends import fiskaly  # noqa: F401  (registers the fiskaly SIGN DE backend)
