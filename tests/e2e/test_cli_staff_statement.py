"""``clinicbot staff statement PACKAGE_ID [--pdf FILE]`` run as the front desk runs it.

The text and the PDF (read back with pypdf) show the clinic, the patient, the money, the uses
and each session and payment, in the patient's language; an unknown package or a file that
cannot be written is refused with one clear line, exit 2.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text as sql_text

from bot.storage.db import create_engine
from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_packages import maya_package
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, number


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def change(url: str, sql: str) -> None:
    """Run one SQL statement and commit it."""

    async def write() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sql_text(sql))
        finally:
            await engine.dispose()

    asyncio.run(write())


def pdf_text(path: Path) -> str:
    """Every page's text, its whitespace made single spaces."""
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return " ".join(text.replace("\u00a0", " ").split())


def test_a_sold_and_partly_paid_package_has_a_statement(database_url: str,
                                                        tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(EXAMPLE_FILE))
    sold = desk.ok("staff", "sell", "maya", "physio-5", "--by", "desk")
    package = number(r"package (\d+), 5 uses", sold)
    invoice = number(r"Invoice (\d+): 400\.00 CAD due", sold)
    desk.ok("staff", "pay", str(invoice), "150", "--method", "card")

    text = desk.ok("staff", "statement", str(package))
    assert text.startswith("Harbour Physio & Wellness\n")
    assert "Package statement" in text and "Maya Chen" in text
    assert f"Physio 5-pack (package {package})" in text
    assert "Price:" in text and "$400.00" in text
    assert "$150.00" in text and "$250.00" in text  # paid, outstanding
    assert "5 = 0 redeemed + 0 booked + 5 available" in text
    assert "Payments and refunds" in text and "card" in text
    assert "No session yet." in text

    out = tmp_path / "statement.pdf"
    said = desk.ok("staff", "statement", str(package), "--pdf", str(out))
    assert f"Statement of package {package} written to {out}." in said
    assert out.read_bytes().startswith(b"%PDF-")
    read = pdf_text(out)
    for part in ("Harbour Physio & Wellness", "Maya Chen", "$400.00", "$150.00", "$250.00",
                 "Sessions covered", "card"):
        assert part in read, (part, read)


def test_the_statement_lists_sessions_and_speaks_the_patients_language(
        desk: Clinicbot, tmp_path: Path) -> None:
    package = maya_package(desk)  # imported: 400.00 paid, 2 of 5 uses redeemed
    english = desk.ok("staff", "statement", str(package))
    assert english.count("before import") == 2, english

    change(desk.url, "UPDATE patient SET locale = 'es', first_name = 'Maña Çelik ¿' "
          "WHERE key = 'maya'")
    spanish = tmp_path / "es.pdf"
    desk.ok("staff", "statement", str(package), "--pdf", str(spanish))
    read = pdf_text(spanish)
    for part in ("Maña Çelik ¿ Chen", "Extracto del paquete", "Sesiones cubiertas",
                 "Pagó el paciente", "Forma de pago", "400,00"):
        assert part in read, (part, read)

    change(desk.url, "UPDATE patient SET locale = 'fr' WHERE key = 'maya'")
    french = tmp_path / "fr.pdf"
    desk.ok("staff", "statement", str(package), "--pdf", str(french))
    read = pdf_text(french)
    for part in ("Relevé du forfait", "Séances couvertes", "Payé par le patient", "Émis le",
                 "400,00"):
        assert part in read, (part, read)


def test_an_unknown_package_or_an_unwritable_file_is_refused(desk: Clinicbot,
                                                             tmp_path: Path) -> None:
    unknown = desk.refused("staff", "statement", "99999")
    assert "there is no package 99999" in unknown.stderr
    package = maya_package(desk)
    nowhere = tmp_path / "no-such-folder" / "statement.pdf"
    refused = desk.refused("staff", "statement", str(package), "--pdf", str(nowhere))
    assert "cannot write" in refused.stderr and str(nowhere) in refused.stderr
    assert not nowhere.exists()
