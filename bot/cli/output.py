"""Printing rows as an aligned table or as CSV (reports, staff listings).

CSV is opened in spreadsheets, so a text cell that starts like a formula (``=``, ``+``, ``-``,
``@``, tab or carriage return: a patient named ``=HYPERLINK(...)``) is written with a leading
``'`` (OWASP's rule for CSV injection) and shows as the text it is. Numbers, amounts and dates
are the bot's own (``-20.00`` is an amount, not a formula) and stay plain so sums still work.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

Cell = str | int | Decimal | date | datetime | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_cell(value: Cell) -> str:
    """``value`` as a CSV cell: text a spreadsheet would run as a formula starts with ``'``."""
    text = _text(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    # With "\r\n" as terminator the writer quotes every cell holding a CR or an LF (with "\n"
    # it would leave a CR bare, which splits the row); each row still ends in "\n".
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    lines = []
    for row in [headers, *rows]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(value) for value in row])
        lines.append(buffer.getvalue()[:-2] + "\n")
    return "".join(lines)


def render(headers: Sequence[str], rows: Sequence[Sequence[Cell]], fmt: str = "table") -> str:
    """Render ``rows`` under ``headers`` as ``table`` (aligned, numbers right) or ``csv``."""
    if fmt == "csv":
        return _csv(headers, rows)
    cells = [[_text(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | Decimal) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    if not rows:
        out.append("(none)")
    return "\n".join(out) + "\n"
