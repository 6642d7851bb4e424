"""Accepting an operator invitation: as a new company (registration from the link) and as an
existing user; the usage agreement comes first; the operator may grant fewer rights; single use."""

import pytest
from django.test import Client

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import (
    AccessGrant,
    DealerLink,
    LinkStatus,
    Membership,
    OperatorInvitation,
    OrganizationRole,
    RoleStatus,
    User,
)
from tenants.services import partners as svc
from tests.factories import PASSWORD, make_user
from tests.helpers import assert_envelope
from tests.tenants.partners.conftest import sign_usage_agreement, verified_client

pytestmark = pytest.mark.django_db

PASSWORD_NEW = "Ein-sehr-gutes-Passwort-2026"


def _registration(**overrides):
    data = {
        "full_name": "Sina Sonne", "password1": PASSWORD_NEW, "password2": PASSWORD_NEW,
        "name": "Café Sonne GmbH", "legal_form": "gmbh", "street": "Sonnenallee 1", "postal_code": "12045",
        "city": "Berlin", "country": "DE", "tax_number": "", "vat_id": "", "w_idnr": "",
        "email": "sina@cafe-sonne.example", "phone": "", "accept_terms": "on",
    }
    data.update(overrides)
    return data


def _accept_url(operator, invitation):
    return f"/o/{operator.public_id}/partners/invitations/{invitation.public_id}/"


def test_a_new_company_registers_signs_and_accepts_fewer_rights(dealer):
    invitation, token = dealer.invite(rights=["read", "configure", "entitlements"])
    anonymous = Client()
    page = anonymous.get(f"/invite/operator/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="invitation-register-form"' in html
    assert 'value="Café Sonne GmbH"' in html and 'value="Sina Sonne"' in html  # prefilled

    response = anonymous.post(f"/invite/operator/{token}/", _registration())
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="sina@cafe-sonne.example")
    assert user.email_confirmed_at is not None  # the link proved the address
    membership = Membership.unscoped.get(user=user)
    operator = membership.organization
    assert membership.role == "owner" and operator.name == "Café Sonne GmbH"
    assert OrganizationRole.unscoped.get(organization=operator).status == RoleStatus.PENDING
    invitation.refresh_from_db()
    assert invitation.operator == operator and invitation.accepted_at is None  # registered, not accepted
    assert response["Location"] == _accept_url(operator, invitation)
    # logged in; as an owner the next step is the 2FA set-up
    assert anonymous.get(response["Location"])["Location"] == "/accounts/2fa/setup/"
    for organization in (dealer.organization, operator):
        assert LogEntry.unscoped.filter(action="tenants.operator_invitation.registered",
                                        organization=organization).exists()

    client = verified_client(user)
    # the usage agreement comes first: redirect to the signing page, back to this step
    response = client.get(_accept_url(operator, invitation))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/o/{operator.public_id}/contracts/operator/sign/?next=")
    assert "partners%2Finvitations" in response["Location"]
    with pytest.raises(svc.PartnerError) as exc:
        svc.accept_operator_invitation(actor=actor_for_user(user), invitation=invitation, operator=operator,
                                       rights=["read"])
    assert exc.value.code == "E_AGREEMENT_REQUIRED"
    assert not DealerLink.unscoped.exists() and not AccessGrant.unscoped.filter(organization=operator).exists()

    sign_usage_agreement(user, operator)
    page = client.get(_accept_url(operator, invitation))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="read"' in html and 'value="configure"' in html and 'value="entitlements"' in html
    assert 'value="sign_contracts"' not in html  # only what the dealer asked for

    response = client.post(_accept_url(operator, invitation), {"rights": ["read", "entitlements"]})
    assert response.status_code == 302 and response["Location"] == f"/o/{operator.public_id}/partners/"
    link = DealerLink.unscoped.get(organization=operator, dealer=dealer.organization)
    assert link.status == LinkStatus.ACTIVE and link.invitation == invitation and link.activated_at
    rights = set(AccessGrant.unscoped.filter(organization=operator, revoked_at__isnull=True).values_list(
        "right", flat=True))
    assert rights == {"read", "entitlements"}  # fewer than asked
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    for organization, other in ((dealer.organization, operator), (operator, dealer.organization)):
        entry = LogEntry.unscoped.get(action="tenants.operator_invitation.accepted", organization=organization)
        assert entry.actor_user == user and entry.acting_organization == other
        assert entry.data["granted_rights"] == ["read", "entitlements"]
        grants = LogEntry.unscoped.filter(action="tenants.grant.granted", organization=organization, actor_user=user)
        assert sorted(grants.values_list("data__right", flat=True)) == ["entitlements", "read"]
    # single use: the link is dead now
    assert Client().get(f"/invite/operator/{token}/").status_code == 410
    assert client.get(f"/invite/operator/{token}/").status_code == 410
    # the dealer now reaches the operator's account
    assert dealer.client.get(f"/o/{operator.public_id}/").status_code == 200


def test_registration_errors_keep_everything_unwritten(dealer):
    _invitation, token = dealer.invite()
    response = Client().post(f"/invite/operator/{token}/", _registration(password2="anders", postal_code="1"))
    assert response.status_code == 200
    assert not User.objects.filter(email="sina@cafe-sonne.example").exists()


def test_an_existing_user_logs_in_and_accepts_for_its_company(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="OLLI@operator.example", rights=["read", "configure"])
    page = Client().get(f"/invite/operator/{token}/")
    assert page.status_code == 200 and 'data-testid="invitation-login"' in page.content.decode()
    assert "/accounts/login/?next=/invite/operator/" in page.content.decode()

    client = existing_operator.client
    page = client.get(f"/invite/operator/{token}/")
    assert page.status_code == 200
    assert "Olli Imbiss GmbH" in page.content.decode()
    response = client.post(f"/invite/operator/{token}/", {"organization": existing_operator.org_id})
    assert response.status_code == 302
    assert response["Location"] == _accept_url(existing_operator.organization, invitation)
    # signed already: straight to the rights
    assert client.get(response["Location"]).status_code == 200
    response = client.post(response["Location"], {"rights": ["read", "configure"]})
    assert response.status_code == 302
    link = DealerLink.unscoped.get(organization=existing_operator.organization)
    assert link.status == LinkStatus.ACTIVE
    assert set(AccessGrant.unscoped.filter(organization=existing_operator.organization).values_list(
        "right", flat=True)) == {"read", "configure"}


def test_an_existing_user_may_accept_for_a_new_company(dealer, existing_operator):
    _invitation, token = dealer.invite(contact_email="olli@operator.example", company_name="Olli Zwei GmbH")
    client = existing_operator.client
    response = client.post(f"/invite/operator/{token}/", {
        "organization": "new", "new-name": "Olli Zwei GmbH", "new-legal_form": "gmbh", "new-street": "Weg 2",
        "new-postal_code": "10117", "new-city": "Berlin", "new-country": "DE", "new-email": "zwei@example.com",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    second = Membership.unscoped.get(user=existing_operator.user, organization__name="Olli Zwei GmbH").organization
    assert response["Location"].startswith(f"/o/{second.public_id}/partners/invitations/")
    # a new company has not signed the agreement yet
    assert "/contracts/operator/sign/" in client.get(response["Location"])["Location"]


def test_a_user_with_another_address_cannot_take_up_the_invitation(dealer, existing_operator):
    _invitation, token = dealer.invite(contact_email="someone@else.example")
    response = existing_operator.client.get(f"/invite/operator/{token}/")
    assert response.status_code == 403 and 'data-testid="invitation-other-email"' in response.content.decode()
    response = existing_operator.client.post(f"/invite/operator/{token}/", {"organization": existing_operator.org_id})
    assert response.status_code == 403
    with pytest.raises(svc.PartnerError) as exc:
        svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    assert exc.value.code == "E_INVITATION_OTHER_EMAIL"
    assert OperatorInvitation.unscoped.get().operator is None


def test_a_taken_up_link_works_for_nobody_else(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="olli@operator.example")
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    # the same company continues, anybody else finds the link used
    response = existing_operator.client.get(f"/invite/operator/{token}/")
    assert response.status_code == 302 and response["Location"] == _accept_url(existing_operator.organization,
                                                                             invitation)
    assert Client().get(f"/invite/operator/{token}/").status_code == 410
    colleague = make_user("olli@other.example")
    assert verified_client(colleague).get(f"/invite/operator/{token}/").status_code == 410


def test_a_member_without_manage_partners_cannot_accept(dealer, existing_operator):
    from tests.factories import add_member
    from tests.helpers import session_client

    invitation, token = dealer.invite(contact_email="olli@operator.example")
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    member = add_member(existing_operator.organization, make_user(), "member").user
    response = session_client(member).post(_accept_url(existing_operator.organization, invitation),
                                           {"rights": ["read"]})
    assert response.status_code == 403
    assert not DealerLink.unscoped.exists()
    # and another company cannot open the acceptance step of this invitation at all
    stranger = make_user(full_name="Stefan Fremd")
    from tests.factories import make_organization

    other = make_organization(stranger)
    response = verified_client(stranger).get(_accept_url(other, invitation))
    assert response.status_code == 404


def test_rights_beyond_the_request_are_refused(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="olli@operator.example", rights=["read"])
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    with pytest.raises(svc.PartnerError) as exc:
        svc.accept_operator_invitation(actor=actor_for_user(existing_operator.user), invitation=invitation,
                                       operator=existing_operator.organization, rights=["read", "sign_contracts"])
    assert exc.value.code == "E_RIGHT_NOT_REQUESTED"
    response = existing_operator.client.post(_accept_url(existing_operator.organization, invitation),
                                             {"rights": ["sign_contracts"]})
    assert response.status_code == 200  # not a choice on the form
    assert not DealerLink.unscoped.exists()


def test_granting_no_right_at_all_still_links(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="olli@operator.example")
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    response = existing_operator.client.post(_accept_url(existing_operator.organization, invitation), {})
    assert response.status_code == 302
    assert DealerLink.unscoped.get().status == LinkStatus.ACTIVE
    assert not AccessGrant.unscoped.filter(organization=existing_operator.organization).exists()
    assert dealer.client.get(f"/o/{existing_operator.org_id}/").status_code == 404


def test_a_revoked_invitation_cannot_be_accepted_after_it_was_taken_up(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="olli@operator.example")
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    svc.revoke_operator_invitation(actor=dealer.actor_obj, invitation=invitation)
    response = existing_operator.client.post(_accept_url(existing_operator.organization, invitation),
                                             {"rights": ["read"]})
    assert response.status_code == 410
    assert not DealerLink.unscoped.exists()


def test_the_old_password_of_an_existing_user_is_untouched(dealer, existing_operator):
    _invitation, token = dealer.invite(contact_email="olli@operator.example")
    response = Client().post(f"/invite/operator/{token}/", _registration(email="olli@operator.example"))
    assert response.status_code == 200  # the login page, no registration
    existing_operator.user.refresh_from_db()
    assert existing_operator.user.check_password(PASSWORD)
    assert Membership.unscoped.filter(user=existing_operator.user).count() == 1


def test_the_preview_api_after_acceptance_is_gone(dealer, existing_operator):
    invitation, token = dealer.invite(contact_email="olli@operator.example")
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    svc.accept_operator_invitation(actor=actor_for_user(existing_operator.user), invitation=invitation,
                                   operator=existing_operator.organization, rights=["read"])
    body = assert_envelope(Client().get(f"/api/v1/operator-invitations/by-token/{token}"), 410,
                           "E_INVITATION_INVALID")
    assert body["details"] == {"status": "accepted"}
