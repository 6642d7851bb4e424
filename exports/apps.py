from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("DSFinV-K and TSE exports")

    def ready(self):
        # The services register the labels of their audit action codes when imported.
        import importlib
        import pkgutil

        import exports.services

        for module in pkgutil.iter_modules(exports.services.__path__):
            importlib.import_module(f"exports.services.{module.name}")
