"""Portal staff see Betriebsstätten and outlets in the admin, read-only: changes go through the services."""

import pytest

from tenants.models import Betriebsstaette, Outlet
from tests.factories import give_totp_device, make_user
from tests.helpers import session_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    user = make_user("staff@kassenportal.example", is_staff=True, is_superuser=True)
    return session_client(user, give_totp_device(user))


@pytest.mark.parametrize("model", ["betriebsstaette", "outlet"])
def test_staff_see_the_lists_and_details_read_only(staff_client, premises, model):
    betriebsstaette, outlet = premises
    obj = betriebsstaette if model == "betriebsstaette" else outlet
    listing = staff_client.get(f"/admin/tenants/{model}/")
    assert listing.status_code == 200 and obj.name in listing.content.decode()
    detail = staff_client.get(f"/admin/tenants/{model}/{obj.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert staff_client.get(f"/admin/tenants/{model}/add/").status_code == 403
    assert staff_client.post(f"/admin/tenants/{model}/{obj.pk}/change/", {"name": "X"}).status_code == 403
    assert staff_client.post(f"/admin/tenants/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Betriebsstaette.unscoped.filter(pk=betriebsstaette.pk).exists()
    assert Outlet.unscoped.get(pk=outlet.pk).name == "Filiale Mitte"
