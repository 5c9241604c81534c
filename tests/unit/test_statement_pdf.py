"""The statement PDF's text: what the core fonts cannot write becomes its nearest letter."""

from __future__ import annotations

import io

from pypdf import PdfReader

from bot.services import statement_pdf
from bot.services.statements import Document, Table


def test_printable_keeps_spanish_and_french_and_replaces_the_rest() -> None:
    assert statement_pdf.printable("¿Señora Çelik? Zoë, 12,00\u202f€") == (
        "¿Señora Çelik? Zoë, 12,00\u00a0€")
    assert statement_pdf.printable("Ōtsuka 李 \u2212 5") == "Otsuka ? - 5"


def test_a_document_renders_with_accents_and_an_empty_table() -> None:
    doc = Document(
        language="es", title="Extracto del paquete", clinic=["Clínica Año Nuevo"],
        facts=[("Paciente", "Núñez Çelik 李")],
        tables=[Table("Sesiones", ["Fecha"], [], "Aún no hay sesiones.", frozenset())],
        footer="Emitido el 6 dic 2026.")
    body = statement_pdf.render(doc)
    text = " ".join(PdfReader(io.BytesIO(body)).pages[0].extract_text().split())
    for part in ("Clínica Año Nuevo", "Extracto del paquete", "Núñez Çelik ?",
                 "Aún no hay sesiones.", "Emitido el 6 dic 2026."):
        assert part in text, (part, text)
