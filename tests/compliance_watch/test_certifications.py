"""BSI ids: the short form of the notification, the lookup of a TSE's certification, the product status."""

import datetime as dt

import pytest

from tse.models import BsiCertification, SigningUnit
from tse.services.certifications import (
    CertificationIndex,
    bsi_short_id,
    certification_for,
    level_for_days,
    product_status,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("value", "short"), [
    ("BSI-K-TR-0403-2021", "0403-2021"),
    ("0403-2021", "0403-2021"),
    ("bsi-k-tr-0490-2021", "0490-2021"),
    ("  BSI-K-TR- 0412-2020 ", "0412-2020"),
    ("BSI K TR 0362 - 2019", "0362-2019"),
    ("BSI-K-TR-0373", ""),
    ("0373", ""),
    ("BSI-K-TR-403-2021", ""),
    ("TSE 0403-2021 v2", ""),
    ("", ""),
    (None, ""),
])
def test_short_ids(value, short):
    assert bsi_short_id(value) == short


def _unit(bsi: str) -> SigningUnit:
    return SigningUnit(backend="fiskaly", bsi_certification_id=bsi)


@pytest.mark.parametrize("value", ["BSI-K-TR-0403-2021", "0403-2021", "bsi-k-tr-0403-2021 ", "BSI-K-TR-0403"])
def test_a_unit_finds_its_certification_by_the_normalised_id(value):
    certification = certification_for(_unit(value))
    assert certification.certification_id == "BSI-K-TR-0403-2021"
    assert CertificationIndex().lookup(value) == certification
    assert certification_for(_unit(value), CertificationIndex()) == certification


def test_a_prefix_only_id_resolves_only_when_the_number_is_unique():
    assert certification_for(_unit("BSI-K-TR-0373")).certification_id == "BSI-K-TR-0373-2019"
    BsiCertification.objects.create(certification_id="BSI-K-TR-0373-2024", product="EPSON TSE 2",
                                    applicant="Epson Europe")
    assert certification_for(_unit("BSI-K-TR-0373")) is None
    assert CertificationIndex().lookup("BSI-K-TR-0373") is None
    assert certification_for(_unit("BSI-K-TR-0373-2024")).product == "EPSON TSE 2"


@pytest.mark.parametrize("value", ["", "BSI-K-TR-9999-2020", "BSI-K-TR-9999", "not an id"])
def test_unknown_ids_find_nothing(value):
    assert certification_for(_unit(value)) is None
    assert CertificationIndex().lookup(value) is None


def _certification(code: str) -> BsiCertification:
    return BsiCertification.objects.get(certification_id=code)


def test_the_d_trust_withdrawal_with_grace(in_english):
    d_trust = _certification("BSI-K-TR-0491-2021")
    before = product_status(d_trust, dt.date(2022, 12, 1))
    assert (before.code, before.date, before.days_left, before.level) == ("expiring", dt.date(2023, 1, 7), 37, "info")
    in_grace = product_status(d_trust, dt.date(2023, 1, 7))
    assert (in_grace.code, in_grace.date, in_grace.in_grace, in_grace.grace_until) == (
        "withdrawn", dt.date(2023, 1, 7), True, dt.date(2024, 7, 31))
    assert in_grace.level == "warning"  # at least a warning while the grace runs
    assert in_grace.label == "certification withdrawn on 07.01.2023; use allowed until 31.07.2024"
    assert product_status(d_trust, dt.date(2024, 7, 1)).level == "warning"
    last_days = product_status(d_trust, dt.date(2024, 7, 28))
    assert (last_days.days_left, last_days.level) == (3, "danger")
    after = product_status(d_trust, dt.date(2024, 8, 1))
    assert (after.code, after.in_grace, after.level) == ("withdrawn", False, "danger")
    assert after.label == "certification withdrawn on 07.01.2023; the grace period ended on 31.07.2024"
    assert product_status(d_trust, dt.date(2026, 12, 1)).level == "danger"


def test_validity_expiring_and_expired(in_english):
    swissbit = _certification("BSI-K-TR-0412-2020")
    valid = product_status(swissbit, dt.date(2026, 12, 1))
    assert (valid.code, valid.level, valid.label) == ("valid", None, "certified until 26.11.2028")
    assert product_status(swissbit, dt.date(2028, 8, 27)).code == "valid"  # 91 days before
    expiring = product_status(swissbit, dt.date(2028, 8, 28))  # 90 days before
    assert (expiring.code, expiring.days_left, expiring.level) == ("expiring", 90, "info")
    assert expiring.label == "certification ends on 26.11.2028 (in 90 days)"
    assert product_status(swissbit, dt.date(2028, 10, 27)).level == "warning"
    assert product_status(swissbit, dt.date(2028, 11, 26)).level == "danger"  # last valid day
    expired = product_status(swissbit, dt.date(2028, 11, 27))
    assert (expired.code, expired.level, expired.label) == ("expired", "danger", "certification expired on 26.11.2028")
    fiskaly = product_status(_certification("BSI-K-TR-0403-2021"), dt.date(2026, 12, 1))
    assert (fiskaly.code, fiskaly.date, fiskaly.level, fiskaly.label) == ("valid", None, None, "certified")
    unknown = product_status(None, dt.date(2026, 12, 1))
    assert (unknown.code, unknown.level, unknown.label) == ("unknown", None, "no BSI certification known")


def test_an_expired_certification_in_grace():
    swissbit = _certification("BSI-K-TR-0412-2020")
    swissbit.grace_until = dt.date(2029, 3, 31)
    status = product_status(swissbit, dt.date(2029, 1, 1))
    assert (status.code, status.in_grace, status.days_left, status.level) == ("expired", True, 89, "warning")


@pytest.mark.parametrize(("days", "level"), [
    (None, None), (365, None), (91, None), (90, "info"), (31, "info"), (30, "warning"), (8, "warning"),
    (7, "danger"), (0, "danger"), (-1, "danger"),
])
def test_levels_follow_the_settings(days, level):
    assert level_for_days(days) == level


def test_other_thresholds_from_the_settings(settings):
    settings.TSE_CERTIFICATE_WARNING_DAYS = (60, 14)
    assert [level_for_days(days) for days in (61, 60, 15, 14)] == [None, "info", "info", "danger"]
