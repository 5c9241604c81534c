"""Sending a package's statement as a PDF document in Telegram (issue 18, item 1).

"My packages" asks for a ``statement_pdf`` effect (the package's id and the language the
patient is spoken to in) once it has checked the package is the patient's (or their ward's);
:func:`send_statement` builds the PDF (:mod:`bot.services.statements`,
:mod:`bot.services.statement_pdf`) and sends it with ``sendDocument``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from telegram import InputFile

from bot.handlers.telegram_context import Context, answer_surely, deps
from bot.i18n import translator
from bot.services import statement_pdf, statements
from bot.services.errors import NotFound

KIND = "statement_pdf"


async def send_statement(context: Context, chat_id: int, params: dict[str, Any]) -> None:
    """Send the statement of ``params["package_id"]`` in ``params["locale"]``."""
    package_id = int(params["package_id"])
    async with deps(context).uow(readonly=True) as uow:
        try:
            found = await statements.package_statement(uow, package_id)
        except NotFound:
            return
    t = translator(str(params.get("locale") or found.locale))
    doc = statements.document(found, t)
    body = statement_pdf.render(doc)
    name = f"statement-package-{package_id}.pdf"
    await answer_surely(partial(
        context.bot.send_document, chat_id, InputFile(body, filename=name),
        caption=statements.summary(found, t)[:1024]))
