"""The shop (dealer) and the operator's entitlements page: three actors, buying, transfer, activation, cancel."""

import datetime as dt

import pytest
from django.utils import timezone

from portal.tenancy import actor_for_user
from tenants.models import Entitlement, EntitlementOrder, EntitlementState
from tenants.services.entitlements import activate, assign, purchase
from tests.entitlements.conftest import make_outlet
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db


def _shop(org_id) -> str:
    return f"/o/{org_id}/entitlements/shop/"


def _page(org_id) -> str:
    return f"/o/{org_id}/entitlements/"


def _stock(actors, product, quantity=1) -> list[Entitlement]:
    order = purchase(actor=actor_for_user(actors.partner.user), dealer=actors.partner.organization, product=product,
                     quantity=quantity)
    return list(Entitlement.unscoped.filter(order=order).order_by("pk"))


def _statuses(actors, method, url, names, data=None) -> dict:
    result = {}
    for name in names:
        client = actors.session_client(name)
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        result[name] = response.status_code
    return result


def test_shop_three_actors(actors, shop):
    assert _statuses(actors, "GET", _shop(actors.partner.org_id), ("owner", "partner", "stranger")) == {
        "owner": 404, "partner": 200, "stranger": 404}
    # partners do not see an operator's shop; an organization without the dealer role gets the role page
    assert actors.session_client("partner").get(_shop(actors.owner.org_id)).status_code == 404
    response = actors.session_client("owner").get(_shop(actors.owner.org_id))
    assert response.status_code == 403 and 'data-testid="role-inactive"' in response.content.decode()
    # a viewer-like member reads the shop but gets no forms
    body = actors.member_client("partner").get(_shop(actors.partner.org_id)).content.decode()
    assert 'data-testid="catalogue"' in body and 'data-testid="buy-form"' not in body


def test_shop_shows_catalogue_discount_limit_and_exposure(actors, shop, in_english):
    _stock(actors, shop, 4)  # 432.00 committed; the next purchase makes 5 units: 10 %
    body = actors.session_client("partner").get(_shop(actors.partner.org_id)).content.decode()
    row = body.split('data-testid="product-TSE-SUB"')[1].split("</tr>")[0]
    assert "9.00" in row and "10.00 %" in row and 'data-testid="price-TSE-SUB">8.10<' in row
    assert 'data-testid="exposure">432.00 EUR' in body and "1000.00 EUR" in body
    assert body.count('data-state="stock"') == 4


def test_buying_in_the_shop(actors, shop, in_english):
    client = actors.session_client("partner")
    url = f"{_shop(actors.partner.org_id)}buy/"
    response = client.post(url, {"product": str(shop.public_id), "quantity": "2"})
    assert response.status_code == 302 and response["Location"] == _shop(actors.partner.org_id)
    assert EntitlementOrder.unscoped.get().commitment == 216
    refused = client.post(url, {"product": str(shop.public_id), "quantity": "10"})  # 12 units: 20 % → 864 + 216
    assert refused.status_code == 409 and "exceeds the credit limit" in refused.content.decode()
    assert EntitlementOrder.unscoped.count() == 1
    assert _statuses(actors, "POST", url, ("owner", "stranger"), {"product": str(shop.public_id), "quantity": "1"}) \
        == {"owner": 404, "stranger": 404}
    assert actors.member_client("partner").post(url, {"product": str(shop.public_id), "quantity": "1"}
                                                ).status_code == 403
    assert EntitlementOrder.unscoped.count() == 1


def test_two_step_transfer_and_activation(actors, shop, granted, outlet, new_unit, in_english):
    entitlement = _stock(actors, shop)[0]
    licensed = create_signing_unit(actor=None, organization=actors.owner.organization, description="Belegt")
    activate(actor=actor_for_user(actors.partner.user), entitlement=_stock(actors, shop)[0], signing_unit=licensed,
             outlet=outlet)
    make_outlet(actors.owner.organization, number=2, name="Alte Filiale", closed_on=dt.date(2020, 1, 1))
    client = actors.session_client("partner")
    body = client.get(_shop(actors.partner.org_id)).content.decode()
    assert actors.owner.organization.name in body.split('data-testid="choose-operator"')[1].split("</form>")[0]
    assert 'data-testid="assign-form"' not in body
    body = client.get(_shop(actors.partner.org_id), {"operator": actors.owner.org_id}).content.decode()
    form = body.split('data-testid="assign-form"')[1].split("</form>")[0]
    assert str(new_unit.public_id) in form and str(licensed.public_id) not in form  # units without entitlement only
    assert str(outlet.public_id) in form and "Alte Filiale" not in form  # open outlets only
    url = f"{_shop(actors.partner.org_id)}assign/"
    data = {"operator": actors.owner.org_id, "entitlement": str(entitlement.public_id),
            "outlet": str(outlet.public_id), "activate": "on"}
    assert _statuses(actors, "POST", url, ("owner", "stranger"), data) == {"owner": 404, "stranger": 404}
    missing_unit = client.post(url, data)
    assert missing_unit.status_code == 400 and "Choose the signing unit" in missing_unit.content.decode()
    response = client.post(url, {**data, "signing_unit": str(new_unit.public_id)})
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert (entitlement.state, entitlement.signing_unit, entitlement.activated_by_dealer) == ("active", new_unit, True)


def test_transfer_without_the_right_is_not_offered_and_refused(actors, shop, outlet):
    entitlement = _stock(actors, shop)[0]
    client = actors.session_client("partner")
    body = client.get(_shop(actors.partner.org_id), {"operator": actors.owner.org_id}).content.decode()
    assert 'data-testid="no-operators"' in body and 'data-testid="assign-form"' not in body
    response = client.post(f"{_shop(actors.partner.org_id)}assign/", {
        "operator": actors.owner.org_id, "entitlement": str(entitlement.public_id), "outlet": str(outlet.public_id)})
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.STOCK and entitlement.operator_id is None


def test_operator_page_three_actors(actors, shop, granted, outlet, new_unit, in_english):
    from tenants.services.grants import revoke_right

    dealer = actor_for_user(actors.partner.user)
    assigned = assign(actor=dealer, entitlement=_stock(actors, shop)[0], operator=actors.owner.organization,
                      outlet=outlet)
    assert _statuses(actors, "GET", _page(actors.owner.org_id), ("owner", "partner", "stranger")) == {
        "owner": 200, "partner": 200, "stranger": 404}
    owner_body = actors.session_client("owner").get(_page(actors.owner.org_id)).content.decode()
    assert f'data-testid="activate-{assigned.public_id}"' in owner_body
    assert actors.partner.organization.name in owner_body
    # with `read` only the partner sees the page but cannot activate
    revoke_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                 right="entitlements")
    partner_body = actors.session_client("partner").get(_page(actors.owner.org_id)).content.decode()
    assert f'data-testid="entitlement-{assigned.public_id}"' in partner_body
    assert f'data-testid="activate-{assigned.public_id}"' not in partner_body
    url = f"{_page(actors.owner.org_id)}{assigned.public_id}/activate/"
    assert _statuses(actors, "POST", url, ("stranger", "partner"), {"signing_unit": str(new_unit.public_id)}) == {
        "stranger": 404, "partner": 403}
    assert Entitlement.unscoped.get(pk=assigned.pk).state == "assigned"
    response = actors.session_client("owner").post(url, {"signing_unit": str(new_unit.public_id)}, follow=True)
    assert "The entitlement is active." in response.content.decode()
    active = Entitlement.unscoped.get(pk=assigned.pk)
    assert (active.state, active.activated_by_dealer, active.signing_unit) == ("active", False, new_unit)


def test_a_partner_with_the_right_activates_on_the_operator_page(actors, shop, granted, outlet, new_unit):
    assigned = assign(actor=actor_for_user(actors.partner.user), entitlement=_stock(actors, shop)[0],
                      operator=actors.owner.organization, outlet=outlet)
    body = actors.session_client("partner").get(_page(actors.owner.org_id)).content.decode()
    assert f'data-testid="activate-{assigned.public_id}"' in body
    url = f"{_page(actors.owner.org_id)}{assigned.public_id}/activate/"
    assert actors.session_client("partner").post(url, {"signing_unit": str(new_unit.public_id)}).status_code == 302
    active = Entitlement.unscoped.get(pk=assigned.pk)
    assert (active.state, active.activated_by_dealer) == ("active", True)  # the dealer acted: the dealer pays


def test_cancel_on_the_pages(actors, shop, granted, outlet, new_unit, in_english):
    dealer = actor_for_user(actors.partner.user)
    by_dealer = activate(actor=dealer, entitlement=_stock(actors, shop)[0], signing_unit=new_unit, outlet=outlet)
    other_unit = create_signing_unit(actor=None, organization=actors.owner.organization)
    by_operator = activate(actor=actor_for_user(actors.owner.user), entitlement=assign(
        actor=dealer, entitlement=_stock(actors, shop)[0], operator=actors.owner.organization, outlet=outlet),
        signing_unit=other_unit)
    owner = actors.session_client("owner")
    body = owner.get(_page(actors.owner.org_id)).content.decode()
    assert f'data-testid="cancel-{by_operator.public_id}"' in body  # it pays for this one
    assert f'data-testid="cancel-{by_dealer.public_id}"' not in body
    refused = owner.post(f"{_page(actors.owner.org_id)}{by_dealer.public_id}/cancel/", follow=True)
    assert "Only the party that pays" in refused.content.decode()
    assert Entitlement.unscoped.get(pk=by_dealer.pk).cancelled_at is None
    assert _statuses(actors, "POST", f"{_page(actors.owner.org_id)}{by_operator.public_id}/cancel/",
                     ("stranger",)) == {"stranger": 404}
    assert owner.post(f"{_page(actors.owner.org_id)}{by_operator.public_id}/cancel/").status_code == 302
    assert Entitlement.unscoped.get(pk=by_operator.pk).cancelled_at is not None
    # the dealer cancels its own in the shop; it then shows as expiring once the term end is near
    partner = actors.session_client("partner")
    shop_body = partner.get(_shop(actors.partner.org_id)).content.decode()
    assert f'data-testid="cancel-{by_dealer.public_id}"' in shop_body
    response = partner.post(f"{_page(actors.partner.org_id)}{by_dealer.public_id}/cancel/")
    assert response.status_code == 302 and response["Location"] == _shop(actors.partner.org_id)
    Entitlement.unscoped.filter(pk=by_dealer.pk).update(term_end=timezone.localdate() + dt.timedelta(days=20))
    shop_body = partner.get(_shop(actors.partner.org_id)).content.decode()
    expiring = shop_body.split('data-testid="expiring"')[1].split("</table>")[0]
    assert str(by_dealer.public_id) in expiring

