"""The PDF summary of a Kassen-Nachschau bundle (A4, reportlab platypus, like the invoice PDF).

Shows the operator and the Betriebsstätte, the period, the recording systems (serial number, POS
system and version, dates, closings in the period), their TSEs (serial, BSI certification id,
certificate expiry, state), the TSE outages in the period, the contents of the bundle with their
SHA-256, the latest procedure documentation and when the bundle was generated. Page compression
is off: the text stays searchable in the bytes.
"""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

__all__ = ["render_summary_pdf"]

WIDTH = 170 * mm


def _styles() -> dict:
    sheet = getSampleStyleSheet()
    return {
        "normal": ParagraphStyle("kn-normal", parent=sheet["Normal"], fontName="Helvetica", fontSize=9, leading=12),
        "title": ParagraphStyle("kn-title", parent=sheet["Heading1"], fontName="Helvetica-Bold", fontSize=15,
                                leading=19, spaceAfter=4),
        "heading": ParagraphStyle("kn-heading", parent=sheet["Heading2"], fontName="Helvetica-Bold", fontSize=11,
                                  leading=14, spaceBefore=8, spaceAfter=3),
        "cell": ParagraphStyle("kn-cell", parent=sheet["Normal"], fontName="Helvetica", fontSize=7.5, leading=9.5),
        "code": ParagraphStyle("kn-code", parent=sheet["Normal"], fontName="Courier", fontSize=7, leading=9),
        "code_small": ParagraphStyle("kn-code-small", parent=sheet["Normal"], fontName="Courier", fontSize=6.5,
                                     leading=8.5),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _hex(value: str) -> str:
    """A long hex value (serial, SHA-256) in lines of 32 digits, so no line is cut at a random place."""
    return "\n".join(value[start:start + 32] for start in range(0, len(value), 32)) or "–"


def _day(value) -> str:
    return value.strftime("%d.%m.%Y") if value else "–"


def _instant(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y %H:%M") if value else "–"


def _table(head: list, rows: list, widths: list, styles) -> Table:
    cell = styles["cell"]
    body = [[_p(text, cell) for text in head]]
    for row in rows:
        body.append([value if isinstance(value, Paragraph) else _p(value, cell) for value in row])
    table = Table(body, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _none(text: str, styles) -> Paragraph:
    return _p(text, styles["normal"])


def _header(data: dict, styles) -> list:
    operator, premises = data["operator"], data["betriebsstaette"]
    operator_lines = [operator["name"], operator["street"],
                      " ".join(part for part in (operator["postal_code"], operator["city"]) if part)]
    if operator.get("tax_number"):
        operator_lines.append(_("Tax number: {tax_number}").format(tax_number=operator["tax_number"]))
    if operator.get("vat_id"):
        operator_lines.append(_("VAT id: {vat_id}").format(vat_id=operator["vat_id"]))
    premises_lines = [premises["name"], premises["street"],
                      " ".join(part for part in (premises["postal_code"], premises["city"]) if part)]
    block = Table([[_p(_("Operator"), styles["cell"]), _p(_("Betriebsstätte"), styles["cell"])],
                   [_p("\n".join(line for line in operator_lines if line), styles["normal"]),
                    _p("\n".join(line for line in premises_lines if line), styles["normal"])]],
                  colWidths=[WIDTH / 2, WIDTH / 2])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    facts = [
        _("Period: {start} – {end} (days in German time)").format(start=_day(data["date_from"]),
                                                                 end=_day(data["date_to"])),
        _("Generated at: {when}").format(when=_instant(data["generated_at"])),
        _("Bundle id: {id}").format(id=data["bundle_id"]),
    ]
    return [_p(_("Kassen-Nachschau (§ 146b AO): summary"), styles["title"]), block, Spacer(1, 3 * mm),
            _p("\n".join(facts), styles["normal"])]


def _systems(data: dict, styles) -> list:
    story = [_p(_("Recording systems"), styles["heading"])]
    if not data["systems"]:
        return [*story, _none(_("No recording system."), styles)]
    rows = [[system["serial"], f"{system['pos_system']}\n{system['software']}", system["outlet"],
             _day(system["acquired_on"]), _day(system["commissioned_on"]), _day(system["decommissioned_on"]),
             _p(system["tse_serial"][:16] + "…", styles["code_small"]), str(system["closings"])]
            for system in data["systems"]]
    head = [_("Serial number"), _("POS system / version"), _("Outlet"), _("Acquired"), _("Commissioned"),
            _("Decommissioned"), _("TSE"), _("Closings in the period")]
    widths = [24 * mm, 34 * mm, 20 * mm, 17 * mm, 17 * mm, 17 * mm, 26 * mm, 15 * mm]
    return [*story, _table(head, rows, widths, styles)]


def _tses(data: dict, styles) -> list:
    story = [_p(_("Technical security systems (TSE)"), styles["heading"])]
    if not data["tses"]:
        return [*story, _none(_("No TSE."), styles)]
    rows = []
    for tse in data["tses"]:
        bsi = tse["bsi_id"] or _("not certified / unknown")
        if tse["bsi_valid_until"]:
            bsi += "\n" + _("valid until {day}").format(day=_day(tse["bsi_valid_until"]))
        rows.append([_p(_hex(tse["serial"]), styles["code"]), bsi, _instant(tse["certificate_expires_at"]),
                     f"{tse['state']}\n{tse['backend']}" + (f", {tse['form_factor']}" if tse["form_factor"] else ""),
                     str(tse["log_messages"])])
    head = [_("Serial number"), _("BSI certification"), _("Certificate expires"), _("State"),
            _("Log messages in the period")]
    widths = [62 * mm, 32 * mm, 24 * mm, 32 * mm, 20 * mm]
    return [*story, _table(head, rows, widths, styles)]


def _outages(data: dict, styles) -> list:
    story = [_p(_("TSE outages in the period"), styles["heading"])]
    if not data["outages"]:
        return [*story, _none(_("No outage was recorded in the period."), styles)]
    rows = [[_p(outage["tse_serial"][:16] + "…", styles["code"]), _instant(outage["started_at"]),
             _instant(outage["ended_at"]) if outage["ended_at"] else _("still open"), outage["reason"],
             str(outage["failed_signings"])] for outage in data["outages"]]
    head = [_("TSE"), _("Start"), _("End"), _("Reason"), _("Failed signings")]
    widths = [30 * mm, 30 * mm, 30 * mm, 55 * mm, 25 * mm]
    return [*story, _table(head, rows, widths, styles)]


def _contents(data: dict, styles) -> list:
    story = [_p(_("Contents of the bundle"), styles["heading"]),
             _p(_("Each file with its size in bytes and SHA-256 checksum; manifest.json lists them all again, "
                  "including this summary."), styles["normal"]), Spacer(1, 2 * mm)]
    rows = [[member["name"], f"{member['size']:,}".replace(",", "."), _p(_hex(member["sha256"]), styles["code"])]
            for member in data["members"]]
    return [*story, _table([_("File"), _("Size (bytes)"), _("SHA-256")], rows, [85 * mm, 25 * mm, 60 * mm], styles)]


def _procedure(data: dict, styles) -> list:
    story = [_p(_("Procedure documentation"), styles["heading"])]
    procedure = data["procedure"]
    if procedure is None:
        return [*story, _none(_("No procedure documentation has been generated in the portal yet."), styles)]
    lines = [_("Latest version: {number}, generated at {when}").format(number=procedure["number"],
                                                                        when=_instant(procedure["created_at"]))]
    if procedure["note"]:
        lines.append(procedure["note"])
    if procedure["link"]:
        lines.append(_("In the portal: {link}").format(link=procedure["link"]))
    story.append(_p("\n".join(lines), styles["normal"]))
    if procedure["sha256"]:
        story.append(_p(_("SHA-256 of its PDF:") + "\n" + _hex(procedure["sha256"]), styles["code"]))
    return story


def render_summary_pdf(data: dict) -> bytes:
    """The summary PDF of ``data`` (``compliance.services.nachschau.summary_data``) in the active language."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
        title=_("Kassen-Nachschau {start} – {end}").format(start=_day(data["date_from"]), end=_day(data["date_to"])),
        author=data["operator"]["name"], pageCompression=0, invariant=1,
    )
    story = [*_header(data, styles), *_systems(data, styles), *_tses(data, styles), *_outages(data, styles),
             *_contents(data, styles), *_procedure(data, styles)]
    document.build(story)
    return buffer.getvalue()
