"""index.xml against the (relaxed, in-memory) GDPdU DTD."""

import pytest

from exports.dsfinvk.index_check import check_index_xml
from exports.dsfinvk.index_xml import export_index_xml
from exports.dsfinvk.schema import DATA_DIR, DTD_FILE


@pytest.mark.parametrize("name", ["index.xml.dsfinvk-2.4-derived", "index.xml.dsfinvk-2.2-official"])
def test_the_published_files_validate(name):
    result = check_index_xml((DATA_DIR / name).read_bytes())
    assert result.ok, result.errors


def test_an_index_with_extra_certificate_columns_validates():
    assert check_index_xml(export_index_xml(5)).ok


@pytest.mark.parametrize(("old", "new"), [
    (b"<DecimalSymbol>,</DecimalSymbol>", b""),  # DecimalSymbol and DigitGroupingSymbol come as a pair
    (b"<URL>vat.csv</URL>", b""),  # URL is required
    (b"<AlphaNumeric />", b"<Text />"),  # unknown element
])
def test_a_broken_index_is_rejected(old, new):
    data = export_index_xml().replace(old, new, 1)
    result = check_index_xml(data)
    assert not result.ok and result.errors


def test_malformed_xml_is_rejected_and_the_shipped_dtd_stays_official():
    assert not check_index_xml(b"<DataSet><Version>1.0</DataSet>").ok
    assert b"<!ELEMENT Media (Name, Command*, Table*, Command*, AcceptNoTables?)>" in DTD_FILE.read_bytes()
