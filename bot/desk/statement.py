"""``/desk/packages/{id}/statement`` (print view) and ``/desk/packages/{id}/statement.pdf``;
``/desk/memberships/{id}/statement`` and ``.../statement.pdf`` the same for a membership.

A package's statement (issue 18, item 1) as :mod:`bot.services.statements` words it, in the
staff member's locale: the print view is the document with print styles (no console header
when printed), and the PDF is the same document as ``clinicbot staff statement --pdf`` writes.
A membership's comes from :mod:`bot.services.membership_statements`. ``/desk/receipts/{id}`` and
``.../{id}.pdf``: one session's receipt of an insurance-friendly package
(:mod:`bot.services.receipt_documents`). Reception and managers only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.packages import missing
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.i18n import Translator
from bot.services import membership_statements, receipt_documents, statement_pdf, statements
from bot.services.errors import NotFound
from bot.storage.uow import UnitOfWork

Wording = Callable[[UnitOfWork, int, Translator], Awaitable[statements.Document]]


async def _package(uow: UnitOfWork, package_id: int, t: Translator) -> statements.Document:
    return statements.document(await statements.package_statement(uow, package_id), t)


async def _membership(uow: UnitOfWork, membership_id: int, t: Translator
                      ) -> statements.Document:
    return membership_statements.document(
        await membership_statements.membership_statement(uow, membership_id), t)


async def _document(request: Request, word: Wording, key: int) -> statements.Document | Response:
    """The statement ``word`` writes for ``key`` in the staff member's locale, or the 404 page."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            return await word(uow, key, desk.t)
        except NotFound as exc:
            return missing(request, exc)


@desk_page(roles=DESK)
async def statement(request: Request) -> Response:
    """The statement to read or print."""
    package_id = int(request.path_params["package_id"])
    doc = await _document(request, _package, package_id)
    if isinstance(doc, Response):
        return doc
    return render(request, "statement.html", back=f"/desk/packages/{package_id}",
                  back_text=desk_of(request).t.gettext("Back to the package"),
                  pdf=f"/desk/packages/{package_id}/statement.pdf", doc=doc)


@desk_page(roles=DESK)
async def statement_file(request: Request) -> Response:
    """The statement as a PDF file to download."""
    package_id = int(request.path_params["package_id"])
    doc = await _document(request, _package, package_id)
    if isinstance(doc, Response):
        return doc
    return pdf_response(doc, f"statement-package-{package_id}.pdf")


def pdf_response(doc: statements.Document, name: str) -> Response:
    """The document as a PDF file to download, called ``name``."""
    return Response(statement_pdf.render(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@desk_page(roles=DESK)
async def membership(request: Request) -> Response:
    """A membership's statement to read or print."""
    membership_id = int(request.path_params["membership_id"])
    doc = await _document(request, _membership, membership_id)
    if isinstance(doc, Response):
        return doc
    return render(request, "statement.html", back=None, back_text=None,
                  pdf=f"/desk/memberships/{membership_id}/statement.pdf", doc=doc)


@desk_page(roles=DESK)
async def membership_file(request: Request) -> Response:
    """A membership's statement as a PDF file to download."""
    membership_id = int(request.path_params["membership_id"])
    doc = await _document(request, _membership, membership_id)
    if isinstance(doc, Response):
        return doc
    return pdf_response(doc, f"statement-membership-{membership_id}.pdf")


async def _receipt(uow: UnitOfWork, receipt_id: int, t: Translator) -> statements.Document:
    return receipt_documents.document(await receipt_documents.session_receipt(uow, receipt_id), t)


@desk_page(roles=DESK)
async def receipt(request: Request) -> Response:
    """One session's receipt to read or print."""
    receipt_id = int(request.path_params["receipt_id"])
    doc = await _document(request, _receipt, receipt_id)
    if isinstance(doc, Response):
        return doc
    return render(request, "statement.html", back=None, back_text=None,
                  pdf=f"/desk/receipts/{receipt_id}.pdf", doc=doc)


@desk_page(roles=DESK)
async def receipt_file(request: Request) -> Response:
    """One session's receipt as a PDF file to download."""
    receipt_id = int(request.path_params["receipt_id"])
    doc = await _document(request, _receipt, receipt_id)
    if isinstance(doc, Response):
        return doc
    return pdf_response(doc, f"receipt-{receipt_id}.pdf")


ROUTES = [
    Route("/desk/packages/{package_id:int}/statement", statement, methods=["GET"]),
    Route("/desk/packages/{package_id:int}/statement.pdf", statement_file, methods=["GET"]),
    Route("/desk/memberships/{membership_id:int}/statement", membership, methods=["GET"]),
    Route("/desk/memberships/{membership_id:int}/statement.pdf", membership_file,
          methods=["GET"]),
    Route("/desk/receipts/{receipt_id:int}", receipt, methods=["GET"]),
    Route("/desk/receipts/{receipt_id:int}.pdf", receipt_file, methods=["GET"]),
]
