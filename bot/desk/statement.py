"""``/desk/packages/{id}/statement`` (print view) and ``/desk/packages/{id}/statement.pdf``.

A package's statement (issue 18, item 1) as :mod:`bot.services.statements` words it, in the
staff member's locale: the print view is the document with print styles (no console header
when printed), and the PDF is the same document as ``clinicbot staff statement --pdf`` writes.
Reception and managers only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.packages import missing
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import statement_pdf, statements
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
    return render(request, "statement.html", package_id=package_id,
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
    body = statement_pdf.render(statements.document(found, desk.t))
    name = f"statement-package-{package_id}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


ROUTES = [
    Route("/desk/packages/{package_id:int}/statement", statement, methods=["GET"]),
    Route("/desk/packages/{package_id:int}/statement.pdf", statement_file, methods=["GET"]),
]
