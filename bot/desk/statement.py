"""``/desk/packages/{id}/statement`` (print view) and ``/desk/packages/{id}/statement.pdf``;
``/desk/memberships/{id}/statement`` and ``.../statement.pdf`` the same for a membership.

A package's statement (issue 18, item 1) as :mod:`bot.services.statements` words it, in the
staff member's locale: the print view is the document with print styles (no console header
when printed), and the PDF is the same document as ``clinicbot staff statement --pdf`` writes.
A membership's comes from :mod:`bot.services.membership_statements`. ``/desk/receipts/{id}`` and
``.../{id}.pdf``: one session's receipt of an insurance-friendly package
(:mod:`bot.services.receipt_documents`). Reception and managers only.

Each kind of document is one pair of routes from :func:`document_routes`: what differs is the
path, the wording and the PDF's file name.
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
#: The link back from a document's page (path and text), or None for none.
BackLink = Callable[[int, Translator], tuple[str, str] | None]


async def _package(uow: UnitOfWork, package_id: int, t: Translator) -> statements.Document:
    return statements.document(await statements.package_statement(uow, package_id), t)


def _back_to_package(package_id: int, t: Translator) -> tuple[str, str]:
    return f"/desk/packages/{package_id}", t.gettext("Back to the package")


async def _membership(uow: UnitOfWork, membership_id: int, t: Translator
                      ) -> statements.Document:
    return membership_statements.document(
        await membership_statements.membership_statement(uow, membership_id), t)


async def _receipt(uow: UnitOfWork, receipt_id: int, t: Translator) -> statements.Document:
    return receipt_documents.document(await receipt_documents.session_receipt(uow, receipt_id), t)


async def _document(request: Request, word: Wording, key: int) -> statements.Document | Response:
    """The statement ``word`` writes for ``key`` in the staff member's locale, or the 404 page."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            return await word(uow, key, desk.t)
        except NotFound as exc:
            return missing(request, exc)


def pdf_response(doc: statements.Document, name: str) -> Response:
    """The document as a PDF file to download, called ``name``."""
    return Response(statement_pdf.render(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


def _no_back(key: int, t: Translator) -> None:
    return None


def document_routes(path: str, param: str, word: Wording, file_name: str,
                    back: BackLink = _no_back) -> list[Route]:
    """The page to read or print a document at ``path`` and its PDF at ``path`` + ``.pdf``.

    ``{id}`` in ``path`` and ``file_name`` stands for the document's id, the path parameter
    ``param`` (an int); ``word`` writes the document and ``back`` gives the page's link back.
    """
    async def key_and_document(request: Request) -> tuple[int, statements.Document | Response]:
        key = int(request.path_params[param])
        return key, await _document(request, word, key)

    @desk_page(roles=DESK)
    async def show(request: Request) -> Response:
        """The document to read or print."""
        key, doc = await key_and_document(request)
        if isinstance(doc, Response):
            return doc
        back_path, back_text = back(key, desk_of(request).t) or (None, None)
        return render(request, "statement.html", back=back_path, back_text=back_text,
                      pdf=path.format(id=key) + ".pdf", doc=doc)

    @desk_page(roles=DESK)
    async def download(request: Request) -> Response:
        """The document as a PDF file to download."""
        key, doc = await key_and_document(request)
        if isinstance(doc, Response):
            return doc
        return pdf_response(doc, file_name.format(id=key))

    template = path.format(id=f"{{{param}:int}}")
    return [Route(template, show, methods=["GET"]),
            Route(template + ".pdf", download, methods=["GET"])]


ROUTES = [
    *document_routes("/desk/packages/{id}/statement", "package_id", _package,
                     "statement-package-{id}.pdf", back=_back_to_package),
    *document_routes("/desk/memberships/{id}/statement", "membership_id", _membership,
                     "statement-membership-{id}.pdf"),
    *document_routes("/desk/receipts/{id}", "receipt_id", _receipt, "receipt-{id}.pdf"),
]
