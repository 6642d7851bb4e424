"""Fixtures of the partners tests: a dealer with its owner, invitations, CSV files, signing the
usage agreement, operators in bulk.

The three actors (tests/helpers.py) fit both sides: ``partner`` is an active dealer (owner with a
verified 2FA session, a member-role user, a write API key) holding the ``read`` right of the
operator ``owner``; ``stranger`` is an unrelated operator.
"""

import re

import pytest

from portal.models import OutgoingMail
from portal.tenancy import actor_for_user
from tenants.models import RoleKind
from tenants.services import partners as svc
from tenants.services.contracts import current_version, sign_contract, text_sha256
from tests.factories import give_totp_device, make_organization, make_user
from tests.helpers import session_client

HEADER = ("company_name;street;postal_code;city;country;contact_first_name;contact_last_name;contact_email;"
          "vat_id;phone;external_reference;personal_message;rights")


def invitation_data(**overrides) -> dict:
    data = {
        "company_name": "Café Sonne GmbH",
        "street": "Sonnenallee 1",
        "postal_code": "12045",
        "city": "Berlin",
        "country": "DE",
        "contact_first_name": "Sina",
        "contact_last_name": "Sonne",
        "contact_email": "sina@cafe-sonne.example",
        "external_reference": "K-1001",
        "personal_message": "Wie besprochen: hier Ihre Einladung.",
        "rights": ["read", "configure"],
    }
    data.update(overrides)
    return data


def csv_file(*rows: str, header: str = HEADER, bom: bool = False, delimiter: str = ";") -> bytes:
    lines = [header, *rows]
    text = "\r\n".join(line.replace(";", delimiter) for line in lines) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def last_invitation_token(email: str) -> str:
    """The token of the newest invitation mail to ``email``."""
    mail = OutgoingMail.objects.filter(to=email).order_by("-pk").first()
    assert mail is not None, f"no mail to {email}"
    return re.search(r"/invite/operator/([^/\s]+)/", mail.body_text).group(1)


def sign_usage_agreement(user, organization):
    version = current_version("operator_usage")
    return sign_contract(actor=actor_for_user(user), organization=organization, role_kind=RoleKind.OPERATOR,
                         typed_name=user.full_name, language="de", shown_sha256=text_sha256(version, "de"),
                         consent=True)


def verified_client(user):
    return session_client(user, give_totp_device(user))


class Dealer:
    """The partner actor as a dealer: organization, owner, verified session client."""

    def __init__(self, actor):
        self.actor = actor
        self.organization = actor.organization
        self.user = actor.user
        self.org_id = actor.org_id
        self.client = session_client(actor.user, actor.device)
        self.actor_obj = actor_for_user(actor.user)

    def invite(self, **overrides):
        invitation, token = svc.invite_operator(actor=self.actor_obj, dealer=self.organization,
                                                data=invitation_data(**overrides))
        return invitation, token


@pytest.fixture
def dealer(actors):
    return Dealer(actors.partner)


@pytest.fixture
def existing_operator(db):
    """An operator company that signed the usage agreement, with its owner (verified session)."""
    user = make_user("olli@operator.example", full_name="Olli Operator")
    organization = make_organization(user, roles=(RoleKind.OPERATOR,), activate=False, name="Olli Imbiss GmbH")
    sign_usage_agreement(user, organization)

    class Existing:
        pass

    result = Existing()
    result.user, result.organization = user, organization
    result.org_id = str(organization.public_id)
    result.client = verified_client(user)
    return result
