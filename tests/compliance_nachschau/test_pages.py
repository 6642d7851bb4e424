"""The Kassen-Nachschau pages: three actors, the form with its defaults and shortcuts, progress, download."""

import datetime as dt
import hashlib

import pytest

from compliance.models import BundleState, NachschauBundle
from compliance.services import nachschau
from portal.models.audit import LogEntry
from tests.compliance_nachschau.conftest import build, make_premises

pytestmark = pytest.mark.django_db


def _urls(actor, bundle=None) -> dict:
    base = f"/o/{actor.org_id}/compliance/nachschau/"
    urls = {"page": base}
    if bundle is not None:
        urls.update(bundle=f"{base}{bundle.public_id}/", progress=f"{base}{bundle.public_id}/progress/",
                    download=f"{base}{bundle.public_id}/download/")
    return urls


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _form(shop, date_from="2026-08-01", date_to="2026-08-31") -> dict:
    return {"betriebsstaette": str(shop.premises.public_id), "date_from": date_from, "date_to": date_to}


def test_three_actors_read(actors, shop, django_capture_on_commit_callbacks, in_english):
    bundle = build(shop, django_capture_on_commit_callbacks)
    urls = _urls(actors.owner, bundle)
    for name, status in (("stranger", 404), ("partner", 200), ("owner", 200)):
        client = actors.session_client(name)
        for page in ("page", "bundle", "progress", "download"):
            response = client.get(urls[page])
            assert response.status_code == status, f"{name} {page}: {response.status_code}"
            _body(response)
    owner_page = actors.session_client("owner").get(urls["page"]).content.decode()
    partner_page = actors.session_client("partner").get(urls["page"]).content.decode()
    assert 'data-testid="nachschau-form"' in owner_page and 'data-testid="nachschau-form"' not in partner_page
    assert str(bundle.public_id) in partner_page  # a dealer with `read` sees and downloads the bundles


def test_three_actors_start(actors, shop, django_capture_on_commit_callbacks):
    urls = _urls(actors.owner)
    for name, status in (("stranger", 404), ("partner", 403), ("owner", 302)):
        before = NachschauBundle.unscoped.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = actors.session_client(name).post(urls["page"], _form(shop))
        assert response.status_code == status, name
        assert NachschauBundle.unscoped.count() == before + (1 if status == 302 else 0)
    bundle = NachschauBundle.unscoped.get()
    assert bundle.created_by == actors.owner.user and bundle.state == BundleState.COMPLETED
    assert response["Location"] == _urls(actors.owner, bundle)["bundle"]


def test_a_dealer_granted_configure_may_start(actors, shop, configure_partner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = actors.session_client("partner").post(_urls(actors.owner)["page"], _form(shop))
    assert response.status_code == 302
    entry = LogEntry.unscoped.get(action="compliance.nachschau.requested")
    assert entry.organization == actors.owner.organization and entry.acting_organization == actors.partner.organization


def test_the_form_preselects_the_only_betriebsstaette_and_this_month(actors, shop, in_english):
    today = nachschau.berlin_today()
    page = actors.member_client("owner").get(_urls(actors.owner)["page"]).content.decode()
    assert f'<option value="{shop.premises.public_id}" selected>' in page
    assert f'value="{today.replace(day=1):%Y-%m-%d}"' in page and f'value="{today:%Y-%m-%d}"' in page
    for key in ("today", "last_month", "year"):
        assert f'data-testid="shortcut-{key}"' in page
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    assert (f"?date_from={last_month_end.replace(day=1):%Y-%m-%d}&amp;date_to={last_month_end:%Y-%m-%d}"
            in page)
    shortcut = actors.member_client("owner").get(
        _urls(actors.owner)["page"], {"date_from": "2026-08-01", "date_to": "2026-08-31"}).content.decode()
    assert 'value="2026-08-01"' in shortcut and 'value="2026-08-31"' in shortcut


def test_with_two_betriebsstaetten_one_must_be_chosen(actors, shop, in_english):
    make_premises(shop.organization, "Café Nord")
    client = actors.member_client("owner")
    page = client.get(_urls(actors.owner)["page"]).content.decode()
    assert "– choose –" in page and f'value="{shop.premises.public_id}" selected' not in page
    response = client.post(_urls(actors.owner)["page"], {**_form(shop), "betriebsstaette": ""})
    assert response.status_code == 400 and not NachschauBundle.unscoped.exists()


def test_errors_are_shown_in_the_form(actors, shop, in_english):
    client = actors.member_client("owner")
    response = client.post(_urls(actors.owner)["page"], _form(shop, "2026-08-31", "2026-08-01"))
    assert response.status_code == 400
    assert "The first day must not be after the last day." in response.content.decode()
    empty = make_premises(shop.organization, "Lager")
    response = client.post(_urls(actors.owner)["page"], {**_form(shop), "betriebsstaette": str(empty.public_id)})
    assert response.status_code == 400 and "Lager has no cash register" in response.content.decode()
    foreign = make_premises(actors.stranger.organization, "Fremd")
    response = client.post(_urls(actors.owner)["page"], {**_form(shop), "betriebsstaette": str(foreign.public_id)})
    assert response.status_code == 400 and not NachschauBundle.unscoped.exists()


def test_the_progress_partial_polls_until_done(actors, shop, django_capture_on_commit_callbacks, in_english):
    with django_capture_on_commit_callbacks(execute=False):
        pending = nachschau.request_bundle(None, shop.premises, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    NachschauBundle.unscoped.filter(pk=pending.pk).update(state=BundleState.WORKING, progress=42,
                                                          step="TSE export (TAR) 1 of 1")
    client = actors.member_client("owner")
    urls = _urls(actors.owner, pending)
    page = client.get(urls["bundle"]).content.decode()
    assert f'hx-get="{urls["progress"]}"' in page and "42 %" in page and "TSE export (TAR) 1 of 1" in page
    assert 'data-testid="nachschau-download"' not in page
    assert client.get(urls["download"]).status_code == 404
    nachschau.run_bundle(pending.pk)  # a WORKING bundle whose worker died is built by the next run
    partial = client.get(urls["progress"]).content.decode()
    assert "hx-get" not in partial and 'data-testid="nachschau-download"' in partial
    assert 'data-state="COMPLETED"' in partial and "summary.pdf" in partial and "manifest.json" in partial


def test_a_failed_bundle_shows_its_error(actors, shop, django_capture_on_commit_callbacks, monkeypatch, in_english):
    from tse.services import tar_export

    monkeypatch.setattr(tar_export, "write_tar_export", lambda *a, **k: 1 / 0)
    bundle = build(shop, django_capture_on_commit_callbacks)
    page = actors.member_client("owner").get(_urls(actors.owner, bundle)["bundle"]).content.decode()
    assert 'data-testid="nachschau-error"' in page and "ZeroDivisionError" in page and "hx-get" not in page


def test_the_download_streams_the_file_and_is_audited(actors, shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    response = actors.session_client("partner").get(_urls(actors.owner, bundle)["download"])
    data = _body(response)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Content-SHA256"] == bundle.sha256 == hashlib.sha256(data).hexdigest()
    assert 'filename="nachschau-Cafe-Mitte-20260801-20260831.zip"' in response["Content-Disposition"]
    entry = LogEntry.unscoped.get(action="compliance.nachschau.downloaded")
    assert entry.actor_user == actors.partner.user and entry.object_id == str(bundle.public_id)


def test_foreign_bundles_do_not_exist(actors, shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    client = actors.session_client("stranger")
    foreign = _urls(actors.stranger, bundle)
    for page in ("bundle", "progress", "download"):
        assert client.get(foreign[page]).status_code == 404, page


def test_the_list_shows_earlier_bundles(actors, shop, django_capture_on_commit_callbacks, in_english):
    first = build(shop, django_capture_on_commit_callbacks)
    second = build(shop, django_capture_on_commit_callbacks, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    page = actors.member_client("owner").get(_urls(actors.owner)["page"]).content.decode()
    assert page.index(str(second.public_id)) < page.index(str(first.public_id))
    assert "01.09.2026 – 30.09.2026" in page and "31.12.2036" in page
