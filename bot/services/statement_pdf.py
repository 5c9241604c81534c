"""A package's statement as a PDF file (fpdf2, pure Python), from its worded
:class:`bot.services.statements.Document`.

The PDF core fonts (Helvetica) write Windows-1252, which holds every letter of English,
Spanish and French (é, ñ, ç, ¿, «», €), so no font file is embedded. A character outside it (a
name in another script, the narrow no-break space CLDR puts in French amounts) is written as
its nearest Windows-1252 character, else ``?``: the figures never lose a digit.
"""

from __future__ import annotations

import unicodedata

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.services.statements import Document

ENCODING = "windows-1252"
_SPACES = {"\u202f": "\u00a0", "\u2009": " ", "\u2007": " ", "\u2212": "-", "\u2011": "-"}
PAGE_WIDTH = 180  # mm inside the margins of an A4 page


def printable(value: str) -> str:
    """``value`` with only characters the core fonts have (see the module's docstring)."""
    out = []
    for char in value:
        char = _SPACES.get(char, char)
        try:
            char.encode(ENCODING)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
            char = plain or "?"
        out.append(char)
    return "".join(out)


def _widths(headers: list[str], rows: list[list[str]], pdf: FPDF) -> list[float]:
    """Column widths in proportion to their longest cell, filling the page's width."""
    longest = [max(pdf.get_string_width(printable(cell)) for cell in column) + 4
               for column in zip(headers, *rows, strict=False)]
    scale = PAGE_WIDTH / sum(longest)
    return [width * scale for width in longest]


def render(doc: Document) -> bytes:
    """The PDF file's bytes."""
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(printable(doc.title))
    pdf.set_lang(doc.language)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    for line in doc.clinic:
        pdf.cell(0, 7, printable(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, printable(doc.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    label_width = max(pdf.get_string_width(printable(label)) for label, _ in doc.facts) + 6
    for label, value in doc.facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(label_width, 6, printable(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for table in doc.tables:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, printable(table.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 9)
        if not table.rows:
            pdf.cell(0, 6, printable(table.empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            continue
        widths = _widths(table.headers, table.rows, pdf)
        for index, row in enumerate([table.headers, *table.rows]):
            pdf.set_font("Helvetica", "B" if index == 0 else "", 9)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True)):
                align = "R" if column in table.numeric else "L"
                pdf.cell(width, 6, printable(cell), border="B" if index == 0 else 0,
                         align=align)
            pdf.ln(6)
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 9)
    pdf.cell(0, 6, printable(doc.footer), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
