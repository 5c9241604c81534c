"""``clinicbot staff statement PACKAGE_ID [--pdf FILE]``: a package's statement (issue 18);
``clinicbot staff receipts PACKAGE_ID`` and ``clinicbot staff receipt RECEIPT_ID [--pdf FILE]``:
the per-session receipts of an insurance-friendly package (issue 18, item 2).

The document of :mod:`bot.services.statements` (clinic, patient, money, uses, expiry, each
session, payments and refund; an insurance-friendly package's receipts) in the patient's
language (else the clinic's): printed as text, or written as a PDF file with ``--pdf``. A
receipt is worded by :mod:`bot.services.receipt_documents` the same way.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from bot.cli.common import Context, fail, run
from bot.cli.output import render
from bot.cli.staff_common import ID, echo, money
from bot.i18n import translator
from bot.services import packages, receipt_documents, receipts, statement_pdf, statements
from bot.services.clinic import get_clinic


@click.command("statement")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
@click.option("--pdf", "pdf_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the statement as a PDF file instead of printing it.")
def statement(package_id: int, pdf_file: Path | None) -> None:
    """Print PACKAGE_ID's statement (or write it as a PDF file): clinic, patient, price, paid,
    outstanding, uses, expiry, each session covered, payments and refunds.

    \b
    Examples:
      clinicbot staff statement 3
      clinicbot staff statement 3 --pdf maya-package-3.pdf
    """

    async def work(ctx: Context) -> statements.Document:
        async with ctx.uow(readonly=True) as uow:
            found = await statements.package_statement(uow, package_id)
            return statements.document(found, translator(found.locale))

    _write(run(work), pdf_file, f"Statement of package {package_id}")


def _write(doc: statements.Document, pdf_file: Path | None, what: str) -> None:
    """Print the document, or write it as a PDF file and say so."""
    if pdf_file is None:
        click.echo(statements.text(doc), nl=False)
        return
    try:
        pdf_file.write_bytes(statement_pdf.render(doc))
    except OSError as exc:
        fail(f"cannot write {str(pdf_file)!r}: {exc.strerror or exc}")
    click.echo(f"{what} written to {pdf_file}.")


@click.command("receipts")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
def list_receipts(package_id: int) -> None:
    """List an insurance-friendly package's receipts, one per redeemed session (void ones
    marked), with their total.

    \b
    Example:
      clinicbot staff receipts 3
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            package = await packages.get_package(uow, package_id)
            if not package.insurance_friendly:
                fail(f"package {package_id} ({package.name}) is not insurance-friendly: "
                     "it has no per-session receipts")
            lines = await receipts.receipts_of(uow, package_id, with_voided=True)
            rows = [[r.id, r.day, "adjustment" if r.kind == receipts.ADJUSTMENT else r.fee,
                     r.practitioner, money(r.value, clinic), money(r.patient_pays, clinic),
                     money(r.total, clinic), "void" if r.voided else ""] for r in lines]
            live = [r for r in lines if not r.voided]
            headers = ["receipt", "date", "fee", "practitioner", "value", "patient paid",
                       "total", "status"]
            value = sum((r.value for r in live), Decimal(0))
            paid = sum((r.patient_pays for r in live), Decimal(0))
            return [f"Receipts of package {package.id}: {package.name}",
                    render(headers, rows).rstrip("\n"),
                    f"Total of live receipts: {money(value, clinic)} "
                    f"(+ {money(paid, clinic)} paid per session)"]

    echo(run(work))


@click.command("receipt")
@click.argument("receipt_id", metavar="RECEIPT_ID", type=ID)
@click.option("--pdf", "pdf_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the receipt as a PDF file instead of printing it.")
def receipt(receipt_id: int, pdf_file: Path | None) -> None:
    """Print one session's receipt (or write it as a PDF file) for the patient's insurer:
    the session, its share of the package's price and what the patient paid that session.

    \b
    Examples:
      clinicbot staff receipt 12
      clinicbot staff receipt 12 --pdf maya-receipt-12.pdf
    """

    async def work(ctx: Context) -> statements.Document:
        async with ctx.uow(readonly=True) as uow:
            found = await receipt_documents.session_receipt(uow, receipt_id)
            return receipt_documents.document(found, translator(found.locale))

    _write(run(work), pdf_file, f"Receipt {receipt_id}")


COMMANDS = [statement, list_receipts, receipt]
