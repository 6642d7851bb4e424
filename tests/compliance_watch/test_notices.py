"""The TSE page and the TSE card name a withdrawn or ending product certification (signing_unit_notices)."""

import datetime as dt

import pytest
from django.utils import timezone

from tse.models import BsiCertification, SigningUnit
from tse.services.monitoring import signing_unit_notices, units_needing_attention

from .conftest import make_tse

pytestmark = pytest.mark.django_db


def _product_notices(unit):
    return [(n.code, n.level, n.message) for n in signing_unit_notices(unit, timezone.now())
            if n.code.startswith("E_PRODUCT")]


def test_withdrawn_ending_and_fine(owner, on_today, in_english):
    withdrawn = make_tse(owner.organization, days=900, bsi="BSI-K-TR-0491-2021")
    ending = make_tse(owner.organization, days=900, bsi="BSI-K-TR-0412-2020")
    BsiCertification.objects.filter(certification_id="BSI-K-TR-0412-2020").update(valid_until=dt.date(2027, 1, 15))
    fine = make_tse(owner.organization, days=900)
    assert _product_notices(withdrawn) == [("E_PRODUCT_CERTIFICATION_ENDED", "danger",
                                            "certification withdrawn on 07.01.2023; the grace period ended on "
                                            "31.07.2024")]
    assert _product_notices(ending) == [("E_PRODUCT_CERTIFICATION_EXPIRES", "warning",
                                         "certification ends on 15.01.2027 (in 45 days)")]
    assert _product_notices(fine) == []


def test_the_software_tse_and_the_tse_page(actors, ready_unit, on_today, in_english):
    SigningUnit.unscoped.filter(pk=ready_unit.pk).update(bsi_certification_id="BSI-K-TR-0491-2021")
    ready_unit.refresh_from_db()
    assert _product_notices(ready_unit) == []
    unit = make_tse(actors.owner.organization, days=900, bsi="BSI-K-TR-0491-2021")
    body = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/tse/{unit.public_id}/").content.decode()
    assert "certification withdrawn on 07.01.2023" in body


def test_the_tse_card_looks_the_certifications_up_once(owner, on_today, django_assert_num_queries):
    for bsi in ("BSI-K-TR-0491-2021", "BSI-K-TR-0412-2020", "0403-2021", "BSI-K-TR-0373"):
        make_tse(owner.organization, days=900, bsi=bsi)
    with django_assert_num_queries(2):  # the units, the certifications
        rows = units_needing_attention(owner.organization)
    assert [[n.code for n in notices if n.code.startswith("E_PRODUCT")] for _unit, notices in rows] == [
        ["E_PRODUCT_CERTIFICATION_ENDED"], [], [], []]
