"""``clinicbot staff statement PACKAGE_ID [--pdf FILE]``: a package's statement (issue 18).

The document of :mod:`bot.services.statements` (clinic, patient, money, uses, expiry, each
session, payments and refund) in the patient's language (else the clinic's): printed as text,
or written as a PDF file with ``--pdf``.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import Context, fail, run
from bot.cli.staff_common import ID
from bot.i18n import translator
from bot.services import statement_pdf, statements


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

    doc = run(work)
    if pdf_file is None:
        click.echo(statements.text(doc), nl=False)
        return
    try:
        pdf_file.write_bytes(statement_pdf.render(doc))
    except OSError as exc:
        fail(f"cannot write {str(pdf_file)!r}: {exc.strerror or exc}")
    click.echo(f"Statement of package {package_id} written to {pdf_file}.")


COMMANDS = [statement]
