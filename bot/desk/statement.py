"""``/desk/packages/{id}/statement`` (print view) and ``/desk/packages/{id}/statement.pdf``;
``/desk/memberships/{id}/statement`` and ``.../statement.pdf`` the same for a membership.

A package's statement (issue 18, item 1) as :mod:`bot.services.statements` words it, in the
staff member's locale: the print view is the document with print styles (no console header
when printed), and the PDF is the same document as ``clinicbot staff statement --pdf`` writes.
A membership's comes from :mod:`bot.services.membership_statements`. Reception and managers
only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.packages import missing
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import membership_statements, statement_pdf, statements
from bot.services.errors import NotFound


@desk_page(roles=DESK)
async def statement(request: Request) -> Response:
    """The statement to read or print."""
    desk = desk_of(request)
    package_id = int(request.path_params["package_id"])
    async with desk.uow(readonly=True) as uow:
        try:
            found = await statements.package_statement(uow, package_id)
        except NotFound as exc:
            return missing(request, exc)
    return render(request, "statement.html", back=f"/desk/packages/{package_id}",
                  back_text=desk.t.gettext("Back to the package"),
                  pdf=f"/desk/packages/{package_id}/statement.pdf",
                  doc=statements.document(found, desk.t))


@desk_page(roles=DESK)
async def statement_file(request: Request) -> Response:
    """The statement as a PDF file to download."""
    desk = desk_of(request)
    package_id = int(request.path_params["package_id"])
    async with desk.uow(readonly=True) as uow:
        try:
            found = await statements.package_statement(uow, package_id)
        except NotFound as exc:
            return missing(request, exc)
    return pdf_response(statements.document(found, desk.t), f"statement-package-{package_id}.pdf")


def pdf_response(doc: statements.Document, name: str) -> Response:
    """The document as a PDF file to download, called ``name``."""
    return Response(statement_pdf.render(doc), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@desk_page(roles=DESK)
async def membership(request: Request) -> Response:
    """A membership's statement to read or print."""
    desk = desk_of(request)
    membership_id = int(request.path_params["membership_id"])
    async with desk.uow(readonly=True) as uow:
        try:
            found = await membership_statements.membership_statement(uow, membership_id)
        except NotFound as exc:
            return missing(request, exc)
    return render(request, "statement.html", back=None, back_text=None,
                  pdf=f"/desk/memberships/{membership_id}/statement.pdf",
                  doc=membership_statements.document(found, desk.t))


@desk_page(roles=DESK)
async def membership_file(request: Request) -> Response:
    """A membership's statement as a PDF file to download."""
    desk = desk_of(request)
    membership_id = int(request.path_params["membership_id"])
    async with desk.uow(readonly=True) as uow:
        try:
            found = await membership_statements.membership_statement(uow, membership_id)
        except NotFound as exc:
            return missing(request, exc)
    return pdf_response(membership_statements.document(found, desk.t),
                        f"statement-membership-{membership_id}.pdf")


ROUTES = [
    Route("/desk/packages/{package_id:int}/statement", statement, methods=["GET"]),
    Route("/desk/packages/{package_id:int}/statement.pdf", statement_file, methods=["GET"]),
    Route("/desk/memberships/{membership_id:int}/statement", membership, methods=["GET"]),
    Route("/desk/memberships/{membership_id:int}/statement.pdf", membership_file,
          methods=["GET"]),
]
