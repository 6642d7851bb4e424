from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Organizations and users")

    def ready(self):
        # Feature services register the labels of their audit action codes when imported.
        import importlib
        import pkgutil

        import tenants.services

        for module in pkgutil.iter_modules(tenants.services.__path__):
            importlib.import_module(f"tenants.services.{module.name}")
