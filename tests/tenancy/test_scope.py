"""The scoping mechanism itself (portal.tenancy), outside requests."""

import pytest
from django_scopes import ScopeError, scope

from portal.tenancy import actor_for_api_key, actor_for_user, organization_scope
from tenants.models import ApiKey, Membership, Organization
from tenants.services.grants import grant_right

pytestmark = pytest.mark.django_db


@pytest.fixture
def scopes_enabled():
    """Undo the autouse ``scopes_disabled`` of tests/conftest.py for one test."""
    with scope(_enabled=True):
        yield


def test_it_refuses_scoped_queries_outside_any_scope(actors, scopes_enabled):
    with pytest.raises(ScopeError):
        list(Organization.objects.all())
    with pytest.raises(ScopeError):
        list(Membership.objects.all())


def test_it_shows_the_partner_the_operator_but_not_its_members(actors, scopes_enabled):
    owner_org, partner_org = actors.owner.organization, actors.partner.organization
    with organization_scope(partner_org.pk) as actor:
        assert set(Organization.objects.values_list("pk", flat=True)) == {partner_org.pk, owner_org.pk}
        assert set(Membership.objects.values_list("organization_id", flat=True)) == {partner_org.pk}
        assert set(ApiKey.objects.values_list("organization_id", flat=True)) == {partner_org.pk}
    assert actor.granted_rights == {owner_org.pk: {"read"}}


def test_it_shows_the_operator_only_itself(actors, scopes_enabled):
    with organization_scope(actors.owner.organization.pk):
        assert list(Organization.objects.values_list("pk", flat=True)) == [actors.owner.organization.pk]


def test_it_scopes_an_empty_actor_to_nothing_not_everything(actors, scopes_enabled):
    # django-scopes treats None as "unfiltered"; an actor without organizations must get lists
    kwargs = actor_for_user(None).scope_kwargs()
    assert kwargs == {"organization": [], "membership": []}
    with scope(**kwargs):
        assert not Organization.objects.exists()


def test_it_gives_a_partner_key_only_view_on_the_operator(actors):
    actor = actor_for_api_key(actors.partner.api_key)
    owner_pk = actors.owner.organization.pk
    assert actor.capabilities(owner_pk) == frozenset({"view", "view_master_data"})
    assert actor.has_right(owner_pk, "read")
    assert not actor.has_right(owner_pk, "configure")
    assert actor.capabilities(actors.stranger.organization.pk) == frozenset()


def test_it_combines_the_rights_of_every_dealer_organization_of_a_user(actors):
    # a user in two dealer organizations sees every operator that granted either of them
    from tests.factories import add_member, make_dealer_with_grant

    second_dealer = make_dealer_with_grant(actors.stranger.organization, right="configure")
    add_member(second_dealer, actors.partner.member)
    actor = actor_for_user(actors.partner.member)
    assert actor.granted_rights == {
        actors.owner.organization.pk: {"read"},
        actors.stranger.organization.pk: {"configure"},
    }


def test_it_ignores_grants_between_organizations_of_the_same_actor(actors):
    # a user member of both operator and dealer is a member of the operator, not a partner
    from tests.factories import add_member

    add_member(actors.owner.organization, actors.partner.member)
    actor = actor_for_user(actors.partner.member)
    assert actors.owner.organization.pk in actor.member_roles
    assert actors.owner.organization.pk not in actor.granted_rights


def test_it_refuses_grants_to_non_dealers_and_to_itself(actors):
    with pytest.raises(ValueError, match="dealer"):
        grant_right(actor=None, operator=actors.owner.organization, dealer=actors.stranger.organization, right="read")
    with pytest.raises(ValueError, match="itself"):
        grant_right(actor=None, operator=actors.partner.organization, dealer=actors.partner.organization, right="read")
