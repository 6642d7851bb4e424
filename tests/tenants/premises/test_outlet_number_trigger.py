"""On PostgreSQL a trigger (migration tenants.0005) makes outlet numbers immutable below the ORM."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from tenants.models import Outlet

pytestmark = pytest.mark.django_db


def test_the_database_refuses_to_change_an_outlet_number(premises, postgresql_only):
    _betriebsstaette, outlet = premises
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Outlet.unscoped.filter(pk=outlet.pk).update(number=99)
    outlet.number = 42
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        outlet.save()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_outlet SET number = number + 1")
    assert Outlet.unscoped.get(pk=outlet.pk).number == 1


def test_the_database_still_allows_other_changes_and_new_outlets(premises, postgresql_only):
    _betriebsstaette, outlet = premises
    Outlet.unscoped.filter(pk=outlet.pk).update(name="Anders", number=outlet.number)
    outlet.refresh_from_db()
    outlet.city = "Potsdam"
    outlet.save()  # saves every column, the unchanged number included
    assert Outlet.unscoped.get(pk=outlet.pk).city == "Potsdam"
    Outlet.unscoped.create(organization=outlet.organization, number=2, name="Zwei", street="S", house_number="1",
                           postal_code="10115", city="Berlin")
    assert Outlet.unscoped.filter(organization=outlet.organization).count() == 2


def test_the_trigger_is_installed(postgresql_only, db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tenants_outlet'::regclass AND NOT tgisinternal")
        names = {row[0] for row in cursor.fetchall()}
    assert "tenants_outlet_number_immutable" in names
