import pytest

from portal.models import LogEntry, OutgoingMail
from tests.portal.conftest import REGISTRATION, last_link

pytestmark = pytest.mark.django_db


def test_it_resets_the_password_through_the_mailed_link(client, registered):
    response = client.post("/accounts/password/reset/", {"email": REGISTRATION["email"]})
    assert response.status_code == 302
    link = last_link(REGISTRATION["email"])
    assert "/accounts/password/reset/" in link
    response = client.get(link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    new_password = "Neues-Passwort-2027"
    response = client.post(response.redirect_chain[-1][0],
                           {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.check_password(new_password)
    assert LogEntry.objects.filter(action="tenants.user.password_reset", actor_user=registered).exists()
    # the link works once
    assert client.get(link, follow=True).context["validlink"] is False


def test_unknown_addresses_get_the_same_answer_and_no_mail(client, registered):
    before = OutgoingMail.objects.count()
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert OutgoingMail.objects.count() == before
