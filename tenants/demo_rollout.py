"""Demo data of the rollout feature for ``manage.py seed_demo`` (sandbox only): the dealer's rollout
template "Filiale Standard" — outlet 2 with a software TSE and ``{{ registers }}`` POS running the
shared DemoKasse — so a rollout can be tried at once (dry run first). Later runs leave it alone."""

from tenants.models import PosSystemVersion, RolloutTemplate
from tenants.services.configuration.schema import TEMPLATE_FORMAT
from tenants.services.rollout.templates import create_template

__all__ = ["DEMO_TEMPLATE_NAME", "ensure_demo_rollout_template"]

DEMO_TEMPLATE_NAME = "Filiale Standard"


def demo_template_document(version: PosSystemVersion) -> dict:
    return {
        "format": TEMPLATE_FORMAT,
        "variables": {
            "store": {"type": "string", "pattern": "[A-Z0-9]{1,8}", "description": "Kürzel der Filiale"},
            "registers": {"type": "integer", "default": 1, "description": "Anzahl der Kassen"},
            "street": {"type": "string", "default": "Marktplatz"},
            "house_number": {"type": "string", "default": "1"},
        },
        "outlets": [{
            "number": 2, "name": "Filiale {{ store }}", "street": "{{ street }}", "house_number": "{{ house_number }}",
            "postal_code": "{{ operator_postal_code }}", "city": "{{ operator_city }}",
            "signing_units": [{
                "reference": "tse-{{ store }}", "backend": "software", "description": "TSE Filiale {{ store }}",
                "initialize": True,
                "clients": [{"client_id": "{{ store }}-K{n:02}", "count": "{{ registers }}",
                             "cash_register": {"pos_system_version": str(version.public_id)}}],
            }],
        }],
    }


def ensure_demo_rollout_template(*, actor, dealer, pos_system) -> RolloutTemplate | None:
    if RolloutTemplate.unscoped.filter(organization=dealer, name=DEMO_TEMPLATE_NAME).exists():
        return None
    version = PosSystemVersion.unscoped.filter(pos_system=pos_system).order_by("-created_at").first()
    if version is None:
        return None
    return create_template(actor, dealer, DEMO_TEMPLATE_NAME,
                           "Eine Filiale mit Software-TSE (Sandbox) und DemoKasse; zuerst als Probelauf ausführen.",
                           demo_template_document(version), note="Demo")
