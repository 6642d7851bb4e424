"""The targets of a rollout job from a CSV file.

UTF-8 (with or without BOM); the delimiter (``;`` or ``,``) is taken from the header row. One column names
the operator — ``operator``, ``operator_id`` or ``reference`` (case-insensitive): its public id or your
external reference — every other column is a variable of that name. An empty cell means "not given" (the
variable's default applies); values arrive as strings (the renderer converts them to the declared type).
Blank lines are skipped. At most ``MAX_ROWS`` rows. Errors are collected for all rows and raised together
as ``ConfigurationError(400, "E_CSV_INVALID")`` with paths ``/header/…`` and ``/rows/<n>/<column>``, where
``n`` is the data row (0 = the first row after the header).
"""

import csv
import io

from django.utils.translation import gettext as _

from tenants.services.configuration.errors import ConfigurationError

__all__ = ["MAX_ROWS", "OPERATOR_COLUMNS", "parse_targets"]

MAX_ROWS = 5000
OPERATOR_COLUMNS = ("operator", "operator_id", "reference")
MAX_ERRORS = 100


def _invalid(message: str, errors: list[dict]):
    return ConfigurationError(400, "E_CSV_INVALID", message, errors=errors[:MAX_ERRORS])


def _error(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": str(message)}


def parse_targets(file_bytes: bytes) -> list[dict]:
    """``[{"operator": "...", "variables": {...}}, ...]`` in file order; raises ``ConfigurationError``."""
    try:
        text = bytes(file_bytes).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid(_("The file is not UTF-8 encoded text."),
                       [_error("/", "E_ENCODING", _("Save the CSV file as UTF-8."))]) from None
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise _invalid(_("The file is empty."),
                       [_error("/header", "E_REQUIRED", _("The first row names the columns."))])
    delimiter = ";" if header_line.count(";") >= header_line.count(",") and ";" in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise _invalid(_("The file is not valid CSV."), [_error("/", "E_CSV_SYNTAX", str(exc))]) from None
    header = [name.strip() for name in rows[0]]
    errors = []
    seen = set()
    for index, name in enumerate(header):
        if not name:
            errors.append(_error(f"/header/{index}", "E_REQUIRED", _("Every column needs a name.")))
        elif name.lower() in seen:
            errors.append(_error(f"/header/{index}", "E_DUPLICATE_COLUMN",
                                 _("The column “{name}” appears twice.").format(name=name)))
        seen.add(name.lower())
    operator_columns = [index for index, name in enumerate(header) if name.lower() in OPERATOR_COLUMNS]
    if len(operator_columns) != 1:
        errors.append(_error("/header/operator", "E_REQUIRED" if not operator_columns else "E_DUPLICATE_COLUMN",
                             _("Exactly one column “operator” (or “operator_id”, “reference”) names the operator.")))
    if errors:
        raise _invalid(_("The header row is not valid."), errors)
    operator_column = operator_columns[0]
    data = rows[1:]
    if not data:
        raise _invalid(_("The file has no operators."),
                       [_error("/rows", "E_REQUIRED", _("Add one row per operator below the header."))])
    if len(data) > MAX_ROWS:
        message = _("At most {count} operators per file.").format(count=MAX_ROWS)
        raise _invalid(message, [_error("/rows", "E_TOO_MANY", message)])
    targets = []
    for number, row in enumerate(data):
        if len(row) > len(header):
            errors.append(_error(f"/rows/{number}", "E_TOO_MANY_CELLS",
                                 _("The row has {cells} cells, the header {columns}.").format(
                                     cells=len(row), columns=len(header))))
            continue
        cells = [cell.strip() for cell in row] + [""] * (len(header) - len(row))
        operator = cells[operator_column]
        if not operator:
            errors.append(_error(f"/rows/{number}/{header[operator_column]}", "E_REQUIRED",
                                 _("Name the operator (id or your reference).")))
        elif len(operator) > 100:
            errors.append(_error(f"/rows/{number}/{header[operator_column]}", "E_TOO_LONG",
                                 _("At most {count} characters.").format(count=100)))
        variables = {header[index]: value for index, value in enumerate(cells)
                     if index != operator_column and value != ""}
        targets.append({"operator": operator, "variables": variables})
    if errors:
        raise _invalid(_("Some rows are not valid."), errors)
    return targets
