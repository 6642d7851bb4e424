"""Check an ``index.xml`` against the GDPdU DTD (reference/dsfinvk.md §5.7).

libxml2 cannot load the official ``gdpdu-01-09-2004.dtd`` for validation ("Content model of Media
is not deterministic": the ``Command*, Table*, Command*`` pattern, the same around ``Media+`` in
``DataSet``). For this internal check the two content models are relaxed in memory to
``Media (Name, (Command|Table)*, AcceptNoTables?)`` and ``DataSet (Extension*, Version,
DataSupplier?, (Command|Media)+)``; everything else is the official DTD. The relaxed copy is never
written anywhere: archives ship the original bytes.
"""

import functools
import io
from dataclasses import dataclass

from lxml import etree

from exports.dsfinvk.schema import DTD_FILE

__all__ = ["IndexCheck", "check_index_xml", "relaxed_dtd"]

_RELAXATIONS = (
    (b"<!ELEMENT DataSet (Extension*, Version, DataSupplier?, Command*, Media+, Command*)>",
     b"<!ELEMENT DataSet (Extension*, Version, DataSupplier?, (Command|Media)+)>"),
    (b"<!ELEMENT Media (Name, Command*, Table*, Command*, AcceptNoTables?)>",
     b"<!ELEMENT Media (Name, (Command|Table)*, AcceptNoTables?)>"),
)


@dataclass(frozen=True)
class IndexCheck:
    ok: bool
    errors: tuple[str, ...]


@functools.cache
def relaxed_dtd() -> etree.DTD:
    data = DTD_FILE.read_bytes()
    for official, relaxed in _RELAXATIONS:
        if official not in data:
            raise ValueError(f"the DTD no longer contains {official!r}")
        data = data.replace(official, relaxed)
    return etree.DTD(io.BytesIO(data))


def check_index_xml(data: bytes) -> IndexCheck:
    """Parse ``data`` (no network, no entities) and validate it against the relaxed DTD."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return IndexCheck(False, (f"not well-formed XML: {exc}",))
    dtd = relaxed_dtd()
    if dtd.validate(document):
        return IndexCheck(True, ())
    return IndexCheck(False, tuple(f"line {e.line}: {e.message}" for e in dtd.error_log.filter_from_errors()))
