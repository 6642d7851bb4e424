from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Compliance centre")

    def ready(self):
        # The services register their audit labels and signal receivers when imported.
        import importlib
        import pkgutil

        import compliance.services

        for module in pkgutil.iter_modules(compliance.services.__path__):
            importlib.import_module(f"compliance.services.{module.name}")
