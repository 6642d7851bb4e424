"""The offline check of a DSFinV-K export archive (reference/dsfinvk.md §11.3, §8).

``exports.dsfinvk.validator.validate_export`` is the entry point; the modules here hold its parts:
``report`` (findings), ``structure`` (archive + ``index.xml``), ``reading`` (CSV rows grouped by
closing, read in lockstep), ``values`` (enumerations, flags, ISO codes), ``references`` (keys and
references), ``totals`` (closing sums) and ``tse`` (TSE data).
"""
