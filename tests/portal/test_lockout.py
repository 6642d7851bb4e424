import pytest

from portal.models import LogEntry
from tests.portal.conftest import PASSWORD, REGISTRATION

pytestmark = pytest.mark.django_db


def test_repeated_failures_lock_the_login_even_for_the_right_password(client, registered, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": "wrong-password!"})
    assert response.status_code == 429
    response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": PASSWORD})
    assert response.status_code == 429
    assert b"locked-out" in response.content
    assert "_auth_user_id" not in client.session
    assert LogEntry.objects.filter(action="tenants.user.locked_out", actor_user=registered).exists()


def test_failures_below_the_limit_do_not_lock(client, registered, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": "wrong-password!"})
    response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_lockout_ends_after_the_cool_off(client, registered, settings):
    import time

    import time_machine

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": "wrong-password!"})
    with time_machine.travel(time.time() + settings.AXES_COOLOFF_TIME * 3600 + 60):
        response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": PASSWORD})
    assert response.status_code == 302
