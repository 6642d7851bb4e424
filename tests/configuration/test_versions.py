"""``versions``: one version per change, nesting, numbering, actors, rollback, append-only."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from portal.tenancy import actor_for_api_key, actor_for_user
from tenants.models import ConfigurationSource, ConfigurationVersion
from tenants.services.configuration.document import digest, snapshot
from tenants.services.configuration.versions import (
    configuration_change,
    latest_version,
    record_configuration_version,
    versions_of,
)
from tenants.services.premises import create_betriebsstaette, create_outlet, update_outlet
from tests.configuration.conftest import ADDRESS

pytestmark = pytest.mark.django_db


def _outlet(organization, number, actor=None, **extra):
    return create_outlet(actor=actor, organization=organization,
                         data={"number": number, "name": f"Filiale {number}", **ADDRESS, **extra})


def test_nested_changes_make_one_version(owner):
    organization = owner.organization
    with configuration_change(None, organization, source=ConfigurationSource.IMPORT, summary="Import") as change:
        create_betriebsstaette(actor=None, organization=organization, data={"name": "B", "reference": "b", **ADDRESS})
        _outlet(organization, 1)
        _outlet(organization, 2)
        with configuration_change(None, organization) as inner:
            assert inner is change
            _outlet(organization, 3)
        assert ConfigurationVersion.unscoped.filter(organization=organization).count() == 0
    version = change.version
    assert version is not None and version.number == 1
    assert ConfigurationVersion.unscoped.filter(organization=organization).count() == 1
    assert (version.source, version.summary) == (ConfigurationSource.IMPORT, "Import")
    assert [(c["op"], c["path"]) for c in version.changes] == [
        ("added", "betriebsstaetten[b]"), ("added", "outlets[1]"), ("added", "outlets[2]"), ("added", "outlets[3]")]
    assert version.document == snapshot(organization)
    assert version.digest == digest(version.document)


def test_unchanged_configuration_makes_no_version(owner):
    outlet = _outlet(owner.organization, 1)
    assert latest_version(owner.organization).number == 1
    update_outlet(actor=None, outlet=outlet, changes={"name": outlet.name})
    with configuration_change(None, owner.organization) as change:
        pass
    assert change.version is None
    assert record_configuration_version(None, owner.organization) is None
    assert latest_version(owner.organization).number == 1


def test_nothing_configured_makes_no_version(owner):
    with configuration_change(None, owner.organization) as change:
        pass
    assert change.version is None and latest_version(owner.organization) is None


def test_numbering_and_changes_against_the_previous_version(owner, stranger):
    outlet = _outlet(owner.organization, 1)
    _outlet(stranger.organization, 1)
    update_outlet(actor=None, outlet=outlet, changes={"name": "Neu"})
    _outlet(owner.organization, 2)
    versions = list(versions_of(owner.organization))
    assert [v.number for v in versions] == [3, 2, 1]
    assert versions[1].changes == [{"op": "changed", "path": "outlets[1].name", "object": "outlet",
                                    "field": "name", "old": "Filiale 1", "new": "Neu"}]
    assert [(c["op"], c["path"]) for c in versions[0].changes] == [("added", "outlets[2]")]
    assert [v.number for v in versions_of(stranger.organization)] == [1]
    assert latest_version(owner.organization) == versions[0]


def test_user_actor_and_plain_user(owner):
    actor = actor_for_user(owner.user)
    _outlet(owner.organization, 1, actor=actor)
    version = latest_version(owner.organization)
    assert (version.actor_user, version.actor_api_key, version.acting_organization) == (owner.user, None, None)
    _outlet(owner.organization, 2, actor=owner.member)
    assert latest_version(owner.organization).actor_user == owner.member
    _outlet(owner.organization, 3, actor=actor_for_api_key(owner.api_key))
    version = latest_version(owner.organization)
    assert (version.actor_user, version.actor_api_key) == (None, owner.api_key)


def test_acting_organization_when_the_partner_configures(owner, partner, configure_partner):
    actor = actor_for_user(partner.user)
    assert actor.has_right(owner.organization.pk, "configure")
    _outlet(owner.organization, 1, actor=actor)
    version = latest_version(owner.organization)
    assert version.actor_user == partner.user
    assert version.acting_organization == partner.organization
    _outlet(owner.organization, 2, actor=actor_for_api_key(partner.api_key))
    version = latest_version(owner.organization)
    assert (version.actor_api_key, version.acting_organization) == (partner.api_key, partner.organization)


def test_system_actor(owner):
    _outlet(owner.organization, 1)
    version = latest_version(owner.organization)
    assert (version.actor_user, version.actor_api_key, version.acting_organization) == (None, None, None)


def test_exception_stores_nothing(owner):
    with pytest.raises(RuntimeError), configuration_change(None, owner.organization):
        _outlet(owner.organization, 1)
        raise RuntimeError("boom")
    assert latest_version(owner.organization) is None
    assert not owner.organization.outlets.exists()


def test_failing_service_inside_a_change_rolls_back_everything(owner):
    from tenants.services.premises import PremisesError

    with pytest.raises(PremisesError), configuration_change(None, owner.organization):
        _outlet(owner.organization, 1)
        _outlet(owner.organization, 1)  # number taken
    assert latest_version(owner.organization) is None
    assert not owner.organization.outlets.exists()


def test_record_inside_an_open_change_is_left_to_the_outermost(owner):
    with configuration_change(None, owner.organization) as change:
        _outlet(owner.organization, 1)
        assert record_configuration_version(None, owner.organization) is None
    assert change.version.number == 1
    _outlet(owner.organization, 2)
    assert latest_version(owner.organization).number == 2


def test_changes_of_two_organizations_are_separate(owner, stranger):
    with configuration_change(None, owner.organization) as outer:
        _outlet(owner.organization, 1)
        with configuration_change(None, stranger.organization) as other:
            _outlet(stranger.organization, 1)
        assert other.version is not None and other.version.organization == stranger.organization
        assert outer.version is None
    assert outer.version.organization == owner.organization


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL")
@pytest.mark.parametrize("statement", [
    "UPDATE tenants_configurationversion SET summary = 'x'",
    "DELETE FROM tenants_configurationversion",
])
def test_versions_are_append_only(owner, statement):
    _outlet(owner.organization, 1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert ConfigurationVersion.unscoped.filter(organization=owner.organization).count() == 1
