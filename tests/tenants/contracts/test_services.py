"""Role contracts in the service layer: evidence, activation, re-signing, termination, mail, audit."""

import hashlib

import pytest
from django.db import DatabaseError, connection, transaction

from portal.models import LogEntry, OutgoingMail
from portal.tenancy import actor_for_api_key, actor_for_user
from tenants.models import ContractKind, ContractSignature, ContractVersion, OrganizationRole, RoleStatus
from tenants.services.contracts import (
    ContractError,
    apply_for_role,
    contract_text,
    current_version,
    publish_version,
    role_state,
    sign_contract,
    sync_roles_after_new_version,
    terminate_role,
    text_sha256,
)
from tests.tenants.contracts.conftest import operator_v1

pytestmark = pytest.mark.django_db

META = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Testbrowser/1.0"}


def _sign(organization, user, *, language="de", version=None, actor=None, role_kind="operator", **overrides):
    version = version or current_version(ContractKind.OPERATOR_USAGE)
    arguments = {
        "typed_name": user.full_name, "language": language, "shown_sha256": text_sha256(version, language),
        "consent": True, "meta": META,
    }
    arguments.update(overrides)
    return sign_contract(actor=actor or actor_for_user(user), organization=organization, role_kind=role_kind,
                         **arguments)


def _terminate(organization, user, *, language="de", version=None, **overrides):
    version = version or operator_v1()
    arguments = {
        "typed_name": user.full_name, "language": language, "shown_sha256": text_sha256(version, language),
        "consent": True, "meta": META,
    }
    arguments.update(overrides)
    return terminate_role(actor=actor_for_user(user), organization=organization, role_kind="operator", **arguments)


def _role(organization, kind="operator"):
    return OrganizationRole.unscoped.get(organization=organization, kind=kind)


def _new_version(requires_resign, kind=ContractKind.OPERATOR_USAGE, actor=None):
    return publish_version(
        actor=actor, kind=kind, title_de="Nutzungsvereinbarung v2", title_en="Usage agreement v2",
        text_de="Neuer Text.", text_en="New text.", requires_resign=requires_resign,
    )


# --- evidence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_evidence_hash_is_the_hash_of_the_text_shown(pending, language):
    version = operator_v1()
    title, text = contract_text(version, language)
    assert title == (version.title_en if language == "en" else version.title_de)
    expected = hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()
    signature = _sign(pending.organization, pending.user, language=language)
    assert signature.text_sha256 == expected == text_sha256(version, language)
    assert signature.language == language
    assert text_sha256(version, "de") != text_sha256(version, "en")


def test_a_signature_stores_the_whole_evidence(pending):
    signature = _sign(pending.organization, pending.user, typed_name="  petra   PENDING ")
    signature = ContractSignature.unscoped.get(pk=signature.pk)
    assert signature.contract_version == operator_v1()
    assert signature.action == "sign"
    assert signature.typed_name == "petra PENDING"  # as typed, whitespace normalised
    assert signature.user == pending.user
    assert signature.organization == pending.organization
    assert signature.acting_organization is None
    assert signature.ip_address == META["ip"]
    assert signature.user_agent == META["user_agent"]
    assert signature.signed_at is not None


# --- activation -------------------------------------------------------------------------------


def test_a_role_stays_pending_until_its_contract_is_signed(pending):
    role = _role(pending.organization)
    assert role.status == RoleStatus.PENDING
    assert role_state(pending.organization, "operator").state == "needs_signature"
    _sign(pending.organization, pending.user)
    role.refresh_from_db()
    assert role.status == RoleStatus.ACTIVE
    assert role.activated_at is not None
    assert role_state(pending.organization, "operator").state == "active"


def test_signing_twice_is_refused(pending):
    _sign(pending.organization, pending.user)
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user)
    assert error.value.code == "E_ALREADY_SIGNED"
    assert ContractSignature.unscoped.filter(organization=pending.organization).count() == 1


def test_a_text_changed_between_showing_and_signing_is_refused(pending):
    shown = text_sha256(operator_v1(), "de")
    _new_version(requires_resign=False)  # a new current version appears while the signer reads v1
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, shown_sha256=shown)
    assert error.value.code == "E_TEXT_CHANGED"
    assert not ContractSignature.unscoped.filter(organization=pending.organization).exists()
    assert _role(pending.organization).status == RoleStatus.PENDING


def test_a_hash_of_the_other_language_is_refused(pending):
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, language="de", shown_sha256=text_sha256(operator_v1(), "en"))
    assert error.value.code == "E_TEXT_CHANGED"


@pytest.mark.parametrize("typed", ["Petra Pendin", "Pending Petra", "", "Olga Owner"])
def test_a_typed_name_that_is_not_the_signers_is_refused(pending, typed):
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, typed_name=typed)
    assert error.value.code == "E_NAME_MISMATCH"
    assert error.value.field == "typed_name"
    assert _role(pending.organization).status == RoleStatus.PENDING


def test_consent_is_required(pending):
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, consent=False)
    assert error.value.code == "E_CONSENT_REQUIRED"


def test_only_german_and_english_exist(pending):
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, language="fr", shown_sha256=text_sha256(operator_v1(), "de"))
    assert error.value.code == "E_INVALID_LANGUAGE"


def test_an_api_key_cannot_sign(actors):
    with pytest.raises(ContractError) as error:
        sign_contract(actor=actor_for_api_key(actors.owner.api_key), organization=actors.owner.organization,
                      role_kind="operator", typed_name="Olga Owner", language="de",
                      shown_sha256=text_sha256(operator_v1(), "de"), consent=True)
    assert error.value.code == "E_USER_REQUIRED"


def test_signing_a_role_not_held_applies_for_it(pending):
    assert not OrganizationRole.unscoped.filter(organization=pending.organization, kind="dealer").exists()
    dealer_v1 = current_version(ContractKind.DEALER_COOPERATION)
    _sign(pending.organization, pending.user, role_kind="dealer", version=dealer_v1)
    assert _role(pending.organization, "dealer").status == RoleStatus.ACTIVE
    actions = list(LogEntry.unscoped.filter(organization=pending.organization).values_list("action", flat=True))
    assert "tenants.role.applied" in actions and "tenants.role.activated" in actions


def test_applying_creates_a_pending_role_and_is_audited(pending):
    role = apply_for_role(actor=actor_for_user(pending.user), organization=pending.organization, role_kind="creator")
    assert role.status == RoleStatus.PENDING
    entry = LogEntry.unscoped.get(organization=pending.organization, action="tenants.role.applied")
    assert entry.actor_user == pending.user and entry.data == {"role": "creator"}
    with pytest.raises(ContractError) as error:
        apply_for_role(actor=actor_for_user(pending.user), organization=pending.organization, role_kind="creator")
    assert error.value.code == "E_ROLE_EXISTS"


# --- new versions -----------------------------------------------------------------------------


def test_publishing_numbers_versions_and_keeps_old_ones(pending):
    v2 = _new_version(requires_resign=False)
    assert v2.version == 2
    assert current_version(ContractKind.OPERATOR_USAGE) == v2
    assert ContractVersion.objects.filter(kind=ContractKind.OPERATOR_USAGE, version=1).exists()
    assert _new_version(requires_resign=False).version == 3


def test_a_version_that_requires_resigning_sets_the_role_back_to_pending(pending):
    v1_signature = _sign(pending.organization, pending.user)
    v2 = _new_version(requires_resign=True)
    role = _role(pending.organization)
    assert role.status == RoleStatus.PENDING
    state = role_state(pending.organization, "operator")
    assert state.state == "resign_required"
    assert state.signature == v1_signature
    deactivated = LogEntry.unscoped.get(organization=pending.organization, action="tenants.role.deactivated")
    assert deactivated.data["version"] == 2 and deactivated.data["new"] == RoleStatus.PENDING
    # re-signing the new version activates it again
    _sign(pending.organization, pending.user, version=v2)
    role.refresh_from_db()
    assert role.status == RoleStatus.ACTIVE
    assert role_state(pending.organization, "operator").signature.contract_version == v2


def test_a_version_without_resigning_keeps_the_role_active(pending):
    _sign(pending.organization, pending.user)
    v2 = _new_version(requires_resign=False)
    assert sync_roles_after_new_version(None, v2) == 0
    assert _role(pending.organization).status == RoleStatus.ACTIVE
    state = role_state(pending.organization, "operator")
    assert state.state == "active" and state.version == v2
    with pytest.raises(ContractError) as error:
        _sign(pending.organization, pending.user, version=v2)
    assert error.value.code == "E_ALREADY_SIGNED"


def test_a_resign_version_further_back_still_counts(pending):
    _sign(pending.organization, pending.user)
    _new_version(requires_resign=True)
    _new_version(requires_resign=False)  # v3 does not require it, but v2 (after the signature) did
    assert role_state(pending.organization, "operator").state == "resign_required"
    assert _role(pending.organization).status == RoleStatus.PENDING


def test_resigning_applies_only_to_the_role_of_that_contract(pending):
    dealer_v1 = current_version(ContractKind.DEALER_COOPERATION)
    _sign(pending.organization, pending.user)
    _sign(pending.organization, pending.user, role_kind="dealer", version=dealer_v1)
    _new_version(requires_resign=True)  # operator usage agreement only
    assert _role(pending.organization, "operator").status == RoleStatus.PENDING
    assert _role(pending.organization, "dealer").status == RoleStatus.ACTIVE


# --- termination ------------------------------------------------------------------------------


def test_terminating_ends_the_role_with_a_signature(pending):
    _sign(pending.organization, pending.user)
    termination = _terminate(pending.organization, pending.user, language="en")
    assert termination.action == "terminate"
    assert termination.contract_version == operator_v1()
    assert termination.text_sha256 == text_sha256(operator_v1(), "en")
    assert _role(pending.organization).status == RoleStatus.TERMINATED
    assert role_state(pending.organization, "operator").state == "terminated"


def test_terminating_needs_a_signed_contract_and_the_right_name(pending):
    with pytest.raises(ContractError) as error:
        _terminate(pending.organization, pending.user)
    assert error.value.code == "E_NOT_SIGNED"
    _sign(pending.organization, pending.user)
    with pytest.raises(ContractError) as error:
        _terminate(pending.organization, pending.user, typed_name="Someone Else")
    assert error.value.code == "E_NAME_MISMATCH"
    assert _role(pending.organization).status == RoleStatus.ACTIVE
    _terminate(pending.organization, pending.user)
    with pytest.raises(ContractError) as error:
        _terminate(pending.organization, pending.user)
    assert error.value.code == "E_NOT_SIGNED"


def test_a_terminated_role_can_be_signed_again(pending):
    _sign(pending.organization, pending.user)
    _terminate(pending.organization, pending.user)
    _sign(pending.organization, pending.user)
    assert _role(pending.organization).status == RoleStatus.ACTIVE


# --- mail and audit ---------------------------------------------------------------------------


def test_the_confirmation_mail_carries_the_evidence(pending, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        signature = _sign(pending.organization, pending.user, language="en")
    mails = {mail.to: mail for mail in OutgoingMail.objects.all()}
    assert set(mails) == {pending.user.email, "office@pending.example"}  # the signer and the company address
    mail = mails[pending.user.email]
    title, text = contract_text(operator_v1(), "en")
    assert mail.subject == f"Contract signed: {title}"
    for expected in (pending.organization.name, signature.text_sha256, "Petra Pending", pending.user.email,
                     META["ip"], META["user_agent"], str(signature.public_id), "version 1", text):
        assert expected in mail.body_text, expected
    assert "&quot;" not in mail.body_text and "&amp;" not in mail.body_text  # plain text, not HTML-escaped
    assert mail.state == OutgoingMail.State.SENT  # delivered by the task after the commit
    assert {m.to[0] for m in mailoutbox} == set(mails)


def test_the_termination_mail_says_so(pending):
    _sign(pending.organization, pending.user, language="en")
    OutgoingMail.objects.all().delete()
    _terminate(pending.organization, pending.user, language="en")
    mail = OutgoingMail.objects.get(to=pending.user.email)
    assert mail.subject.startswith("Termination confirmed: ")
    assert "Terminated" in mail.body_text


def test_signing_and_terminating_are_audited(pending):
    signature = _sign(pending.organization, pending.user)
    signed = LogEntry.unscoped.get(organization=pending.organization, action="tenants.contract.signed")
    assert signed.actor_user == pending.user
    assert signed.object_id == str(signature.public_id)
    assert signed.data["text_sha256"] == signature.text_sha256
    assert signed.data["typed_name"] == "Petra Pending"
    assert signed.data["version"] == 1 and signed.data["ip"] == META["ip"]
    termination = _terminate(pending.organization, pending.user)
    terminated = LogEntry.unscoped.get(organization=pending.organization, action="tenants.contract.terminated")
    assert terminated.object_id == str(termination.public_id)
    assert terminated.data["action"] == "terminate"
    assert LogEntry.unscoped.filter(organization=pending.organization, action="tenants.role.deactivated").exists()


def test_a_partner_with_the_right_signs_on_behalf(on_behalf):
    owner, partner = on_behalf.owner, on_behalf.partner
    signature = _sign(owner.organization, partner.user)
    assert signature.acting_organization == partner.organization
    assert signature.user == partner.user
    entry = LogEntry.unscoped.get(organization=owner.organization, action="tenants.contract.signed")
    assert entry.acting_organization == partner.organization
    assert entry.data["acting_organization"] == str(partner.organization.public_id)


# --- append-only ------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_signatures_cannot_be_changed_or_deleted(pending):
    signature = _sign(pending.organization, pending.user)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ContractSignature.unscoped.filter(pk=signature.pk).update(typed_name="Someone Else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ContractSignature.unscoped.filter(pk=signature.pk).delete()
    signature.refresh_from_db()
    assert signature.typed_name == "Petra Pending"


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_signatures_of_one_role_sign_once(pending, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL")
    import threading
    import time

    from django.db import connections
    from django_scopes import scopes_disabled

    import tenants.services.contracts as service

    entered, release = threading.Event(), threading.Event()
    real_record = service._record
    calls = []

    def slow_record(**kwargs):
        calls.append(1)
        if len(calls) == 1:  # hold the first signer inside its transaction, holding the role lock
            entered.set()
            assert release.wait(timeout=20)
        return real_record(**kwargs)

    monkeypatch.setattr(service, "_record", slow_record)
    results = {}

    def sign(name):
        try:
            with scopes_disabled():
                results[name] = _sign(pending.organization, pending.user)
        except ContractError as exc:
            results[name] = exc.code
        except BaseException as exc:
            results[name] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=sign, args=("first",))
    first.start()
    assert entered.wait(timeout=20)
    second = threading.Thread(target=sign, args=("second",))
    second.start()
    time.sleep(0.5)  # the second signer now waits for the role lock
    release.set()
    first.join(timeout=20)
    second.join(timeout=20)
    assert isinstance(results["first"], ContractSignature), results
    assert results["second"] == "E_ALREADY_SIGNED", results
    assert ContractSignature.unscoped.filter(organization=pending.organization).count() == 1
