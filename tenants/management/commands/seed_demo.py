"""Demo data for the embedded default (``./scripts/demo``): four companies and their users.

Idempotent: a second run creates nothing new; it puts the demo users back into the printed state
(password, TOTP secret, backup codes, no login lockout), so a demo can always be restarted.

The secrets are derived from the e-mail addresses and therefore public. The command refuses to
run in production deployments and in the live environment.
"""

import base64
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scopes_disabled

from exports.demo import ensure_demo_dsfinvk
from portal.services import two_factor
from portal.tenancy import actor_for_user
from tenants.demo_rollout import ensure_demo_rollout_template
from tenants.models import (
    AccessRight,
    Betriebsstaette,
    DealerLink,
    LinkStatus,
    Membership,
    MembershipRole,
    Organization,
    Outlet,
    PosSystem,
    RoleKind,
)
from tenants.services.accounts import confirm_email, email_confirmation_token
from tenants.services.contracts import CONTRACT_FOR_ROLE, current_version, role_contract_state, sign_contract
from tenants.services.contracts import text_sha256 as contract_sha256
from tenants.services.members import accept_invitation, invite_colleague
from tenants.services.organizations import create_organization
from tenants.services.partners import accept_link_request, request_dealer_link, set_dealer_rights
from tenants.services.pos_systems import create_pos_system, share_pos_system
from tenants.services.premises import create_betriebsstaette, create_outlet
from tenants.validators import validate_german_postal_code, validate_tax_number, validate_vat_id
from tse.demo import ensure_demo_tse

DEMO_PASSWORD = "demo-Passwort-2026"
SECRET_SEED = "kassenportal-demo"

# VAT ids carry a correct ISO 7064 MOD 11,10 check digit, tax numbers follow the layout of the
# tax office's federal state (Baden-Württemberg 10 digits, NRW and Bavaria 11 digits).
ORGANIZATIONS = [
    {
        "key": "creator",
        "roles": [RoleKind.CREATOR],
        "data": {
            "name": "Demo Kassenbau GmbH", "legal_form": "gmbh", "street": "Industriestraße 12",
            "postal_code": "70565", "city": "Stuttgart", "country": "DE",
            "tax_number": "99015/12345", "vat_id": "DE812345673",
        },
        "owner": ("inhaber@kassenbau.example.com", "Katrin Bauer"),
        "member": None,
    },
    {
        "key": "dealer",
        "roles": [RoleKind.DEALER],
        "data": {
            "name": "Demo Kassenhandel GmbH", "legal_form": "gmbh", "street": "Hansaring 45",
            "postal_code": "50670", "city": "Köln", "country": "DE",
            "tax_number": "214/5678/1234", "vat_id": "DE298765435",
        },
        "owner": ("inhaber@kassenhandel.example.com", "Dirk Hoffmann"),
        "member": None,
    },
    {
        "key": "cafe",
        "roles": [RoleKind.OPERATOR],
        "data": {
            "name": "Café Demo e.K.", "legal_form": "ek", "street": "Marktplatz 3",
            "postal_code": "69117", "city": "Heidelberg", "country": "DE",
            "tax_number": "32123/45670", "vat_id": "DE147258365",
        },
        "owner": ("inhaber@cafe-demo.example.com", "Clara Becker"),
        "member": ("kasse@cafe-demo.example.com", "Mia Schulz"),
    },
    {
        "key": "baeckerei",
        "roles": [RoleKind.OPERATOR],
        "data": {
            "name": "Bäckerei Demo GmbH", "legal_form": "gmbh", "street": "Bahnhofstraße 21",
            "postal_code": "80335", "city": "München", "country": "DE",
            "tax_number": "143/815/08150", "vat_id": "DE369258147",
        },
        "owner": ("inhaber@baeckerei-demo.example.com", "Bernd Müller"),
        "member": ("kasse@baeckerei-demo.example.com", "Lukas Weber"),
    },
]
DEALER_RIGHTS = (AccessRight.READ, AccessRight.CONFIGURE)
POS_SYSTEM = {
    "name": "DemoKasse", "brand": "Demo Kassenbau", "model": "DK-500", "system_type": "pc_pos",
    "description": "Kassensystem für Gastronomie und Bäckereien (Demo).",
    "software_name": "DemoKasse", "software_version": "4.2.0",
}
PREMISES = {
    "cafe": {
        "betriebsstaette": {"name": "Café am Markt", "street": "Marktplatz", "house_number": "3",
                            "postal_code": "69117", "city": "Heidelberg", "country": "DE"},
        "outlet": {"name": "Café am Markt", "street": "Marktplatz", "house_number": "3",
                   "postal_code": "69117", "city": "Heidelberg", "country": "DE"},
    },
    "baeckerei": {
        "betriebsstaette": {"name": "Backstube Bahnhofstraße", "street": "Bahnhofstraße", "house_number": "21",
                            "postal_code": "80335", "city": "München", "country": "DE"},
        "outlet": {"name": "Filiale Bahnhof", "street": "Bahnhofstraße", "house_number": "21",
                   "postal_code": "80335", "city": "München", "country": "DE"},
    },
}


def _derived(purpose: str, email: str) -> bytes:
    return hashlib.sha256(f"{SECRET_SEED}:{purpose}:{email}".encode()).digest()


def demo_totp_key(email: str) -> bytes:
    return _derived("totp", email)[:20]


def demo_backup_codes(email: str) -> list[str]:
    """Fixed codes in django-otp's own format (8 lower-case base32 characters)."""
    return [
        base64.b32encode(_derived(f"backup-{i}", email)[:5]).decode().lower()
        for i in range(two_factor.BACKUP_CODE_COUNT)
    ]


class Command(BaseCommand):
    help = (
        "Create (or restore) the demo organizations and users and print their log-in data. "
        "Refused in production and in the live environment."
    )

    def handle(self, *args, **options):
        if settings.DEPLOYMENT == "production" or settings.PORTAL_ENVIRONMENT == "live":
            raise CommandError("Demo data has public passwords: refused in production and in the live environment.")
        for spec in ORGANIZATIONS:
            self._check_master_data(spec)
        # The invitation mails of the demo members go nowhere (the users accept them right here).
        with scopes_disabled(), override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            with transaction.atomic():
                rows = self._seed()
            self._reset_lockouts([row["email"] for row in rows])
        self._print(rows)

    # --- steps --------------------------------------------------------------------------------

    def _check_master_data(self, spec):
        data = spec["data"]
        try:
            validate_tax_number(data["tax_number"])
            validate_vat_id(data["vat_id"])
            validate_german_postal_code(data["country"], data["postal_code"])
        except ValidationError as exc:
            raise CommandError(f"demo data of {data['name']} is invalid: {exc.messages}") from exc

    def _seed(self) -> list[dict]:
        rows = []
        organizations = {}
        owners = {}
        for spec in ORGANIZATIONS:
            email, full_name = spec["owner"]
            owner = self._ensure_user(email, full_name)
            organization = Organization.unscoped.filter(name=spec["data"]["name"]).first()
            if organization is None:
                organization = create_organization(owner=owner, data=spec["data"], roles=list(spec["roles"]))
                self.stdout.write(f"created {organization.name}")
            elif not Membership.unscoped.filter(
                user=owner, organization=organization, role=MembershipRole.OWNER
            ).exists():
                raise CommandError(f"{organization.name} exists but {email} is not its owner; not touching it.")
            organizations[spec["key"]] = organization
            owners[spec["key"]] = owner
            secret = self._ensure_two_factor(owner)
            rows.append({"email": email, "organization": organization.name, "role": MembershipRole.OWNER.value,
                         "totp_secret": secret, "backup_codes": demo_backup_codes(email)})

            if spec["member"]:
                member_email, member_name = spec["member"]
                member = self._ensure_user(member_email, member_name)
                self._ensure_membership(owner, organization, member)
                rows.append({"email": member_email, "organization": organization.name,
                             "role": MembershipRole.MEMBER.value, "totp_secret": "", "backup_codes": []})

            for kind in spec["roles"]:
                self._ensure_contract_signed(owner, organization, kind)

        dealer = organizations["dealer"]
        self._ensure_pos_system(owners["creator"], organizations["creator"], dealer)
        for key in ("cafe", "baeckerei"):
            self._ensure_premises(owners[key], organizations[key], PREMISES[key])
            self._ensure_dealer_link(owners[key], organizations[key], owners["dealer"], dealer)
        cafe = organizations["cafe"]
        ensure_demo_tse(actor=actor_for_user(owners["cafe"]), organization=cafe,
                        outlet=Outlet.unscoped.filter(organization=cafe).first())
        ensure_demo_dsfinvk(actor=actor_for_user(owners["cafe"]), organization=cafe)
        ensure_demo_rollout_template(actor=actor_for_user(owners["dealer"]), dealer=dealer,
                                     pos_system=PosSystem.unscoped.get(organization=organizations["creator"],
                                                                       name=POS_SYSTEM["name"]))
        return rows

    def _ensure_contract_signed(self, owner, organization, role_kind) -> None:
        """Roles become active through the real signing path (typed name, hash of the German text)."""
        if not role_contract_state(organization, role_kind)["needs_signature"]:
            return
        version = current_version(CONTRACT_FOR_ROLE[role_kind])
        sign_contract(
            actor=actor_for_user(owner), organization=organization, role_kind=role_kind,
            typed_name=owner.full_name, language="de", shown_sha256=contract_sha256(version, "de"),
            consent=True, meta={"ip": "127.0.0.1", "user_agent": "seed_demo"},
        )

    def _ensure_pos_system(self, creator_owner, creator, dealer) -> None:
        actor = actor_for_user(creator_owner)
        system = PosSystem.unscoped.filter(organization=creator, name=POS_SYSTEM["name"]).first()
        if system is None:
            system = create_pos_system(actor=actor, organization=creator, data=POS_SYSTEM)
        share_pos_system(actor=actor, pos_system=system, dealer_id=dealer.public_id)

    def _ensure_premises(self, owner, organization, spec) -> None:
        if Betriebsstaette.unscoped.filter(organization=organization).exists():
            return
        actor = actor_for_user(owner)
        premises = create_betriebsstaette(actor=actor, organization=organization, data=spec["betriebsstaette"])
        create_outlet(actor=actor, organization=organization,
                      data={**spec["outlet"], "number": 1, "betriebsstaette": premises})

    def _ensure_dealer_link(self, operator_owner, operator, dealer_owner, dealer) -> None:
        link = DealerLink.unscoped.filter(organization=operator, dealer=dealer).exclude(status=LinkStatus.ENDED).first()
        if link is None:
            link = request_dealer_link(actor=actor_for_user(operator_owner), operator=operator,
                                       dealer_id=dealer.public_id)
        if link.status == LinkStatus.REQUESTED:
            accept_link_request(actor=actor_for_user(dealer_owner), dealer=dealer, link=link)
        set_dealer_rights(actor=actor_for_user(operator_owner), operator=operator, dealer=dealer,
                          rights=DEALER_RIGHTS)

    def _ensure_user(self, email: str, full_name: str):
        User = get_user_model()
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, full_name=full_name, language="de")
            try:
                validate_password(DEMO_PASSWORD, user)
            except ValidationError as exc:
                raise CommandError(f"the demo password fails the password rules: {exc.messages}") from exc
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name, language="de")
        elif not user.check_password(DEMO_PASSWORD) or not user.is_active:
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
        if user.email_confirmed_at is None:
            user = confirm_email(email_confirmation_token(user))
        return user

    def _ensure_two_factor(self, user) -> str:
        """A confirmed TOTP device with the demo secret and the demo backup codes; returns the secret."""
        key = demo_totp_key(user.email)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None or device.bin_key != key:
            device = two_factor.start_totp_setup(user)
            device.key = key.hex()
            device.save(update_fields=["key"])
            code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
            if two_factor.confirm_totp_device(user, device.pk, code) is None:
                raise CommandError(f"could not confirm the TOTP device of {user.email}")
            device.refresh_from_db()
        # Let the current code of an authenticator app work right away, and lift any throttling.
        device.last_t = -1
        device.throttle_reset(commit=False)
        device.save(update_fields=["last_t", "throttling_failure_count", "throttling_failure_timestamp"])

        # The service draws random backup codes; the demo replaces them with the printed ones.
        static, _created = StaticDevice.objects.get_or_create(user=user, name="backup", defaults={"confirmed": True})
        static.throttle_reset(commit=False)
        static.confirmed = True
        static.save()
        static.token_set.all().delete()
        StaticToken.objects.bulk_create(
            [StaticToken(device=static, token=code) for code in demo_backup_codes(user.email)]
        )
        return base64.b32encode(key).decode().rstrip("=")

    def _ensure_membership(self, owner, organization, member) -> None:
        if Membership.unscoped.filter(user=member, organization=organization).exists():
            return
        _invitation, token = invite_colleague(
            actor=actor_for_user(owner), organization=organization, email=member.email, role=MembershipRole.MEMBER
        )
        accept_invitation(token=token, user=member)

    def _reset_lockouts(self, emails: list[str]) -> None:
        from axes.utils import reset

        for email in emails:
            reset(username=email)

    # --- output -------------------------------------------------------------------------------

    def _print(self, rows: list[dict]) -> None:
        headers = ("E-mail", "Password", "Role", "Organization", "TOTP secret (base32)")
        table = [(r["email"], DEMO_PASSWORD, r["role"], r["organization"], r["totp_secret"] or "-") for r in rows]
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *table, strict=True)]

        def line(cells):
            return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Demo users, log in at {settings.SITE_URL}/accounts/login/"))
        out.write("")
        out.write(line(headers))
        out.write(line(["-" * w for w in widths]))
        for row, cells in zip(rows, table, strict=True):
            out.write(line(cells))
            if row["backup_codes"]:
                out.write("    backup codes: " + " ".join(row["backup_codes"]))
        out.write("")
        out.write(
            "Owners use two-factor authentication: after the password, type a code from an authenticator app\n"
            "set up with the TOTP secret, or one of the backup codes (each works once; running seed_demo again\n"
            "restores them). Members log in with the password alone. Demo Kassenhandel GmbH (dealer) holds the\n"
            "rights 'read' and 'configure' for both operators; Demo Kassenbau GmbH shares the POS system\n"
            "'DemoKasse' with it. All role contracts are signed (typed name of the owner)."
        )
        out.write("")
