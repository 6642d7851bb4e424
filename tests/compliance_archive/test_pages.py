"""The archive pages: three actors on every page, the table, the filter, the missing-export warning, an archive's
verification history, "Verify again" (``configure``), download links, no delete button."""

import re

import pytest

from compliance.models import ArchiveKind, ArchiveVerification
from compliance.services import archive as service
from portal.models import LogEntry

pytestmark = pytest.mark.django_db


def _list(owner) -> str:
    return f"/o/{owner.org_id}/compliance/archive/"


def _item(owner, kind, archive) -> str:
    return f"/o/{owner.org_id}/compliance/archive/{kind}/{archive.public_id}/"


def test_three_actors_on_every_page(actors, tar_export, dsfinvk_export, bundle):
    owner = actors.owner
    pages = [_list(owner), _item(owner, "tar", tar_export), _item(owner, "dsfinvk", dsfinvk_export),
             _item(owner, "nachschau", bundle)]
    for name, status in (("stranger", 404), ("partner", 200), ("owner", 200)):
        for client in (actors.session_client(name), actors.member_client(name)):
            for url in pages:
                assert client.get(url).status_code == status, f"{name} {url}"
            for url in pages[1:]:
                expected = {"stranger": 404, "partner": 403, "owner": 302}[name]
                assert client.post(url + "verify/").status_code == expected, f"{name} POST {url}"
    assert ArchiveVerification.unscoped.count() == 2 * 3  # the owner's two users, three archives
    assert ArchiveVerification.unscoped.filter(passed=True).count() == 6


def test_a_partner_granted_configure_may_verify(actors, configure_partner, tar_export):
    response = actors.session_client("partner").post(_item(actors.owner, "tar", tar_export) + "verify/")
    assert response.status_code == 302 and response["Location"] == _item(actors.owner, "tar", tar_export)
    verification = ArchiveVerification.unscoped.get()
    assert verification.passed and verification.verified_by == actors.partner.user
    entry = LogEntry.unscoped.get(action="compliance.archive.verified")
    assert entry.organization == actors.owner.organization
    assert entry.acting_organization == actors.partner.organization


def test_the_table_lists_every_archive_with_hash_retention_and_status(actors, tar_export, dsfinvk_export, bundle,
                                                                      in_english):
    owner = actors.owner
    service.verify_archive(owner.user, ArchiveKind.TAR, tar_export)
    with open(dsfinvk_export.file.path, "ab") as handle:
        handle.write(b"tampered")
    service.verify_archive(owner.user, ArchiveKind.DSFINVK, dsfinvk_export)
    html = actors.session_client("owner").get(_list(owner)).content.decode()
    rows = re.findall(r'<tr data-testid="archive-row" data-kind="(\w+)" data-archive-id="([0-9a-f-]+)"', html)
    assert sorted(rows) == sorted([("tar", str(tar_export.public_id)), ("dsfinvk", str(dsfinvk_export.public_id)),
                                   ("nachschau", str(bundle.public_id))])
    assert tar_export.sha256[:12] in html and f'data-copy="{tar_export.sha256}"' in html
    assert "31.12.2036" in html
    assert 'data-testid="verification-passed"' in html and 'data-testid="verification-failed"' in html
    assert 'data-testid="verification-never"' in html
    assert f"/o/{owner.org_id}/tse/{tar_export.signing_unit.public_id}/exports/{tar_export.public_id}/file/" in html
    assert f"/o/{owner.org_id}/dsfinvk/exports/{dsfinvk_export.public_id}/file/" in html
    assert "kept until their retention date" in html
    assert "delete" not in html.lower().replace("cannot be deleted", "")

    filtered = actors.session_client("owner").get(_list(owner), {"kind": "tar"}).content.decode()
    assert re.findall(r'data-testid="archive-row" data-kind="(\w+)"', filtered) == ["tar"]
    unknown = actors.session_client("owner").get(_list(owner), {"kind": "nonsense"}).content.decode()
    assert len(re.findall(r'data-testid="archive-row"', unknown)) == 3


def test_the_warning_lists_missing_monthly_tar_exports_with_a_link(actors, signed, in_english):
    owner = actors.owner
    html = actors.session_client("owner").get(_list(owner)).content.decode()
    assert 'data-testid="missing-tar-exports"' in html
    assert len(re.findall(r'data-testid="missing-tar-export"', html)) == len(
        service.missing_monthly_tar_exports(owner.organization)) > 0
    assert "July 2026" in html
    assert f'href="/o/{owner.org_id}/tse/{signed.public_id}/"' in html


def test_an_archive_shows_its_history_and_findings(actors, tar_export, in_english):
    owner = actors.owner
    url = _item(owner, "tar", tar_export)
    client = actors.session_client("owner")
    html = client.get(url).content.decode()
    assert 'data-testid="no-verification"' in html and 'data-testid="archive-verify"' in html
    assert tar_export.sha256 in html and "31.12.2036" in html and "cannot be deleted before" in html
    with open(tar_export.file.path, "r+b") as handle:
        handle.seek(-2000, 2)
        handle.write(b"\xff" * 8)
    response = client.post(url + "verify/", follow=True)
    html = response.content.decode()
    assert "problems found" in html
    assert 'data-testid="verification-findings"' in html and "E_HASH_MISMATCH" in html
    client.get(url)
    partner_html = actors.session_client("partner").get(url).content.decode()
    assert 'data-testid="archive-verify"' not in partner_html and "E_HASH_MISMATCH" in partner_html


def test_foreign_and_unknown_archives_do_not_exist(actors, tar_export, stranger_unit):
    from tests.compliance_archive.conftest import run_tar_export

    foreign = run_tar_export(stranger_unit)
    client = actors.session_client("owner")
    assert client.get(_item(actors.owner, "tar", foreign)).status_code == 404
    assert client.post(_item(actors.owner, "tar", foreign) + "verify/").status_code == 404
    assert client.get(_item(actors.owner, "dsfinvk", tar_export)).status_code == 404  # wrong kind
    assert client.get(_item(actors.owner, "other", tar_export)).status_code == 404
    assert client.get(f"/o/{actors.owner.org_id}/compliance/archive/tar/not-a-uuid/").status_code == 404
    assert ArchiveVerification.unscoped.count() == 0
