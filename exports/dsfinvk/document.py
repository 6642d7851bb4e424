"""The normalised DSFinV-K data of one cash point closing (``CashPointClosing.document``).

The intake (``exports.services.closings``) turns a POS's closing request (fiskaly DSFinV-K model)
into this document once it is valid; the exporter (``exports.dsfinvk.rows``) writes the CSV rows
from it and the closing's master-data revision (``exports.services.master_data``). Keys are the
DSFinV-K column names, so the mapping to the files is mechanical; the closing key
(``Z_KASSE_ID``, ``Z_ERSTELLUNG``, ``Z_NR``) is not repeated inside — it comes from the closing.

Values: text as ``str``; amounts, quantities and rates as decimal strings with a dot and at most
the column's accuracy (``"12.50"``, ``"-1.5"``, ``"3"``); integer columns (``BON_NR``,
``UST_SCHLUESSEL``, ``AGENTUR_ID``, ``TSE_ID``, ``TSE_TANR``, ``TSE_TA_SIGZ``, ``REF_Z_NR``) as
``int``; flags (``BON_STORNO``, ``INHAUS``, ``P_STORNO``) as ``bool``; a missing value is absent
or ``None``. Times: ``BON_START``/``BON_ENDE``/``REF_DATUM`` RFC 3339 in Europe/Berlin with offset,
to the second (``2026-11-30T18:02:11+01:00``); ``TSE_TA_START``/``TSE_TA_ENDE`` UTC with
milliseconds (``2026-11-30T17:02:11.250Z``).

::

    {
      "cashpointclosing": {Z_BUCHUNGSTAG, TAXONOMIE_VERSION, Z_START_ID, Z_ENDE_ID,
                           Z_SE_ZAHLUNGEN, Z_SE_BARZAHLUNGEN},            → cashpointclosing.csv
      "businesscases": [{GV_TYP, GV_NAME, AGENTUR_ID, UST_SCHLUESSEL,
                         Z_UMS_BRUTTO, Z_UMS_NETTO, Z_UST}],               → businesscases.csv
      "payment": [{ZAHLART_TYP, ZAHLART_NAME, Z_ZAHLART_BETRAG}],          → payment.csv
      "cash_per_currency": [{ZAHLART_WAEH, ZAHLART_BETRAG_WAEH}],         → cash_per_currency.csv
      "transactions": [{
          "head": {BON_ID, BON_NR, BON_TYP, BON_NAME, TERMINAL_ID, BON_STORNO, BON_START,
                   BON_ENDE, BEDIENER_ID, BEDIENER_NAME, UMS_BRUTTO, KUNDE_NAME, KUNDE_ID,
                   KUNDE_TYP, KUNDE_STRASSE, KUNDE_PLZ, KUNDE_ORT, KUNDE_LAND, KUNDE_USTID,
                   BON_NOTIZ},                                             → transactions.csv
          "vat": [{UST_SCHLUESSEL, BON_BRUTTO, BON_NETTO, BON_UST}],       → transactions_vat.csv
          "payments": [{ZAHLART_TYP, ZAHLART_NAME, ZAHLWAEH_CODE, ZAHLWAEH_BETRAG,
                        BASISWAEH_BETRAG}],                                → datapayment.csv
          "allocation_groups": ["Tisch 4", …],                             → allocation_groups.csv
          "references": [{POS_ZEILE, REF_TYP, REF_NAME, REF_DATUM, REF_Z_KASSE_ID, REF_Z_NR,
                          REF_BON_ID}],                                    → references.csv
          "tse": [{TSE_ID, TSE_TANR, TSE_TA_START, TSE_TA_ENDE, TSE_TA_VORGANGSART, TSE_TA_SIGZ,
                   TSE_TA_SIG, TSE_TA_FEHLER, TSE_VORGANGSDATEN}],         → transactions_tse.csv
          "lines": [{
              "line": {POS_ZEILE, GUTSCHEIN_NR, ARTIKELTEXT, POS_TERMINAL_ID, GV_TYP, GV_NAME,
                       INHAUS, P_STORNO, AGENTUR_ID, ART_NR, GTIN, WARENGR_ID, WARENGR, MENGE,
                       FAKTOR, EINHEIT, STK_BR},                           → lines.csv
              "vat": [{UST_SCHLUESSEL, POS_BRUTTO, POS_NETTO, POS_UST}],   → lines_vat.csv
              "amounts": [{TYP, UST_SCHLUESSEL, PF_BRUTTO, PF_NETTO, PF_UST}],  → itemamounts.csv
              "subitems": [{ZI_ART_NR, ZI_GTIN, ZI_NAME, ZI_WARENGR_ID, ZI_WARENGR, ZI_MENGE,
                            ZI_FAKTOR, ZI_EINHEIT, ZI_UST_SCHLUESSEL, ZI_BASISPREIS_BRUTTO,
                            ZI_BASISPREIS_NETTO, ZI_BASISPREIS_UST}],      → subitems.csv
          }],
      }],
    }

A transaction signed while the TSE failed has one ``tse`` row with ``TSE_ID`` and
``TSE_TA_FEHLER`` (the failure) and empty signature fields (dsfinvk.md §9.6). The master-data
files (``location``, ``cashregister``, ``slaves``, ``pa``, ``tse``, ``vat``) and the company part
of ``cashpointclosing.csv`` come from the revision (``MasterDataRevision.data``).
"""

TAXONOMY_VERSION = "2.4"

__all__ = ["TAXONOMY_VERSION"]
