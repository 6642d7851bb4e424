"""The entitlements API: three actors on every endpoint, the error envelope, Idempotency-Key."""

import pytest
from django.test import Client

from tenants.models import Entitlement, EntitlementOrder
from tenants.services.grants import grant_right
from tests.factories import make_api_key
from tests.helpers import api_client, assert_actors, assert_envelope, result_ids
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db


def _orders_url(actors) -> str:
    return f"/api/v1/organizations/{actors.partner.org_id}/entitlement-orders"


def _buy(actors, quantity=1) -> dict:
    response = actors.api_client("partner").post(_orders_url(actors), {"product": "TSE-SUB", "quantity": quantity},
                                                 content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def _grant(actors):
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="entitlements")


def test_products_for_every_caller(actors, product):
    responses = assert_actors(actors.api_client, "GET", "/api/v1/products",
                              {"owner": 200, "partner": 200, "stranger": 200})
    rows = {row["code"]: row for row in responses["owner"].json()["results"]}
    plan = rows["TSE-SUB"]["plan"]
    assert (plan["base_fee"], plan["block_size"], plan["max_blocks"], plan["term_months"]) == ("9.00", 10000, 5, 12)
    assert_envelope(Client().get("/api/v1/products"), 401, "E_UNAUTHORIZED")


def test_purchase_three_actors_and_readonly_keys(actors, shop):
    body = {"product": "TSE-SUB", "quantity": 2}
    responses = assert_actors(actors.api_client, "POST", _orders_url(actors),
                              {"stranger": 404, "owner": 404, "partner": 201}, body)
    order = responses["partner"].json()
    assert (order["quantity"], order["commitment"], order["discount_percent"]) == (2, "216.00", "0.00")
    assert len(order["entitlement_ids"]) == 2
    assert assert_actors(actors.api_client, "GET", _orders_url(actors),
                         {"stranger": 404, "owner": 404, "partner": 200})["partner"].json()["count"] == 1
    _key, plain = make_api_key(actors.partner.organization, can_write=False)
    assert_envelope(api_client(plain).post(_orders_url(actors), body, content_type="application/json"), 403,
                    "E_API_KEY_READ_ONLY")
    assert_envelope(actors.member_client("partner").post(_orders_url(actors), body, content_type="application/json"),
                    403, "E_PERMISSION_DENIED")
    assert EntitlementOrder.unscoped.count() == 1


def test_purchase_errors(actors, product):
    client = actors.api_client("partner")
    url = _orders_url(actors)
    assert_envelope(client.post(url, {"product": "TSE-SUB", "quantity": 1}, content_type="application/json"), 409,
                    "E_NO_FRAMEWORK_CONTRACT")
    from tests.entitlements.conftest import make_framework_contract

    make_framework_contract(actors.partner.organization, actors.partner.user)
    assert_envelope(client.post(url, {"product": "TSE-SUB", "quantity": 20}, content_type="application/json"), 409,
                    "E_CREDIT_LIMIT_EXCEEDED")
    assert_envelope(client.post(url, {"product": "NOPE", "quantity": 1}, content_type="application/json"), 404,
                    "E_PRODUCT_NOT_FOUND")
    assert_envelope(client.post(url, {"product": "TSE-SUB", "quantity": 0}, content_type="application/json"), 400,
                    "E_VALIDATION")
    # an operator without the dealer role
    assert_envelope(actors.api_client("owner").post(
        f"/api/v1/organizations/{actors.owner.org_id}/entitlement-orders", {"product": "TSE-SUB", "quantity": 1},
        content_type="application/json"), 403, "E_ROLE_INACTIVE")
    assert not EntitlementOrder.unscoped.exists()


def test_purchase_honours_the_idempotency_key(actors, shop):
    client = api_client(actors.partner.key, **{"Idempotency-Key": "order-0001"})
    first = client.post(_orders_url(actors), {"product": "TSE-SUB", "quantity": 3}, content_type="application/json")
    again = client.post(_orders_url(actors), {"product": "TSE-SUB", "quantity": 3}, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert EntitlementOrder.unscoped.count() == 1 and Entitlement.unscoped.count() == 3
    other = client.post(_orders_url(actors), {"product": "TSE-SUB", "quantity": 4}, content_type="application/json")
    assert_envelope(other, 409, "E_IDEMPOTENCY_KEY_REUSED")


def test_entitlement_lists(actors, shop, outlet):
    _grant(actors)
    ids = _buy(actors, 2)["entitlement_ids"]
    actors.api_client("partner").post(f"/api/v1/entitlements/{ids[0]}/assign", {
        "operator_id": actors.owner.org_id, "outlet_id": str(outlet.public_id)}, content_type="application/json")
    dealer_url = f"/api/v1/organizations/{actors.partner.org_id}/entitlements"
    operator_url = f"/api/v1/organizations/{actors.owner.org_id}/entitlements"
    dealer = assert_actors(actors.api_client, "GET", dealer_url, {"owner": 404, "stranger": 404, "partner": 200})
    assert result_ids(dealer["partner"]) == ids
    operator = assert_actors(actors.api_client, "GET", operator_url, {"owner": 200, "partner": 200, "stranger": 404})
    assert result_ids(operator["owner"]) == [ids[0]] == result_ids(operator["partner"])
    row = operator["owner"].json()["results"][0]
    assert (row["state"], row["operator_id"], row["outlet_id"]) == ("assigned", actors.owner.org_id,
                                                                    str(outlet.public_id))
    stock = actors.api_client("partner").get(dealer_url, {"state": "stock"})
    assert result_ids(stock) == [ids[1]]
    assert_envelope(actors.api_client("partner").get(dealer_url, {"state": "gone"}), 400, "E_VALIDATION")


def test_assign_three_actors_and_the_missing_right(actors, shop, outlet):
    entitlement_id = _buy(actors)["entitlement_ids"][0]
    url = f"/api/v1/entitlements/{entitlement_id}/assign"
    body = {"operator_id": actors.owner.org_id, "outlet_id": str(outlet.public_id)}
    assert_actors(actors.api_client, "POST", url,
                  {"stranger": 404, "owner": 404, "partner": (403, "E_RIGHT_MISSING")}, body)
    entitlement = Entitlement.unscoped.get(public_id=entitlement_id)
    assert (entitlement.state, entitlement.operator_id, entitlement.outlet_id) == ("stock", None, None)
    _grant(actors)
    foreign = {"operator_id": actors.stranger.org_id, "outlet_id": str(outlet.public_id)}
    assert_envelope(actors.api_client("partner").post(url, foreign, content_type="application/json"), 404,
                    "E_OPERATOR_NOT_FOUND")
    response = assert_actors(actors.api_client, "POST", url, {"partner": 200}, body)["partner"]
    assert response.json()["state"] == "assigned"


def test_activate_three_actors(actors, shop, outlet, new_unit):
    _grant(actors)
    entitlement_id = _buy(actors)["entitlement_ids"][0]
    url = f"/api/v1/entitlements/{entitlement_id}/activate"
    body = {"signing_unit_id": str(new_unit.public_id), "outlet_id": str(outlet.public_id)}
    # stock: the owner does not see it yet
    assert_actors(actors.api_client, "POST", url, {"stranger": 404, "owner": 404}, body)
    stranger_unit = create_signing_unit(actor=None, organization=actors.stranger.organization)
    assert_envelope(actors.api_client("partner").post(url, {"signing_unit_id": str(stranger_unit.public_id)},
                                                      content_type="application/json"), 404,
                    "E_SIGNING_UNIT_NOT_FOUND")
    response = assert_actors(actors.api_client, "POST", url, {"partner": 200}, body)["partner"].json()
    assert (response["state"], response["signing_unit_id"], response["activated_by_dealer"]) == (
        "active", str(new_unit.public_id), True)
    assert response["term_start"] and response["term_end"]
    second = _buy(actors)["entitlement_ids"][0]
    assert_envelope(actors.api_client("partner").post(f"/api/v1/entitlements/{second}/activate", body,
                                                      content_type="application/json"), 409,
                    "E_SIGNING_UNIT_LICENSED")


def test_the_operator_activates_an_assigned_one_itself(actors, shop, outlet, new_unit):
    _grant(actors)
    entitlement_id = _buy(actors)["entitlement_ids"][0]
    actors.api_client("partner").post(f"/api/v1/entitlements/{entitlement_id}/assign", {
        "operator_id": actors.owner.org_id, "outlet_id": str(outlet.public_id)}, content_type="application/json")
    url = f"/api/v1/entitlements/{entitlement_id}/activate"
    body = {"signing_unit_id": str(new_unit.public_id)}
    assert_envelope(actors.member_client("owner").post(url, body, content_type="application/json"), 403,
                    "E_PERMISSION_DENIED")
    response = assert_actors(actors.api_client, "POST", url, {"stranger": 404, "owner": 200}, body)
    assert response["owner"].json()["activated_by_dealer"] is False


def test_cancel_three_actors(actors, shop, outlet, new_unit):
    _grant(actors)
    entitlement_id = _buy(actors)["entitlement_ids"][0]
    actors.api_client("partner").post(f"/api/v1/entitlements/{entitlement_id}/activate", {
        "signing_unit_id": str(new_unit.public_id), "outlet_id": str(outlet.public_id)},
        content_type="application/json")
    url = f"/api/v1/entitlements/{entitlement_id}/cancel"
    responses = assert_actors(actors.api_client, "POST", url, {
        "stranger": 404, "owner": (403, "E_NOT_BILLED_PARTY"), "partner": 200})
    body = responses["partner"].json()
    assert (body["state"], body["cancelled"], body["auto_renew"]) == ("active", True, False)
    assert_envelope(actors.api_client("partner").post(url), 409, "E_ENTITLEMENT_STATE")
