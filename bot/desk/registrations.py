"""``/desk/registrations``: online registrations that look like a profile, and Merge.

The same services as ``clinicbot staff duplicates`` and ``staff merge``
(:func:`bot.services.desk_queues.registrations_to_merge`, :mod:`bot.services.merge_evidence`,
:func:`bot.services.accounts.merge`). Each pair is shown side by side with the evidence
(channel, masked phone, birth date, what matched). Merging asks first, like the CLI: the first
POST runs the merge in a transaction it rolls back, to show what would move and to refuse early
what the merge would refuse; only the confirmation (``confirmed=yes``) merges. The
registration's channel opens the kept file only when staff tick that they checked it is the
patient's own. Reception and managers only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import accounts, audit, desk_queues
from bot.services.errors import DomainError
from bot.services.merge_evidence import evidence
from bot.storage.models import Patient

PATH = "/desk/registrations"


async def _show(request: Request, *, error: str | None = None, status_code: int = 200
                ) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        pairs = []
        for item in await desk_queues.registrations_to_merge(uow):
            for other in item.resembles:
                pairs.append((item.patient, other,
                              await evidence(uow, item.patient.id, other.id)))
        merged = request.query_params.get("merged", "")
        done = (desk.t.gettext("Merged patient {id} into the profile kept.", id=merged)
                if merged.isdigit() and error is None else None)
        return render(request, "registrations.html", status_code=status_code, pairs=pairs,
                      error=error, done=done)


@desk_page(roles=DESK)
async def registrations(request: Request) -> Response:
    """Registrations to merge, each beside the profile it resembles."""
    return await _show(request)


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


@desk_page(roles=DESK)
async def merge(request: Request) -> Response:
    """``keep``, ``merge`` (patient ids), ``link_channel``; ``confirmed=yes`` to do it."""
    desk = desk_of(request)
    form = await request.form()
    keep_id, merge_id = _number(form.get("keep")), _number(form.get("merge"))
    link = form.get("link_channel") == "yes"
    actor = audit.Actor(desk.staff.key, "console")
    if keep_id is None or merge_id is None:
        return await _show(request, status_code=400, error=desk.t.gettext(
            "Choose the two profiles to merge from the list."))
    try:
        if form.get("confirmed") != "yes":
            async with desk.uow() as uow:  # a trial merge, rolled back: what would move
                trial = await accounts.merge(uow, keep_id, merge_id, by=desk.staff.key,
                                             link_channels=link, actor=actor)
                kept = await uow.session.get(Patient, keep_id)
                gone = await uow.session.get(Patient, merge_id)
                return render(request, "merge_confirm.html", kept=kept, gone=gone, link=link,
                              moved={k: v for k, v in trial.moved.items() if v},
                              left_off=len(trial.left_off))
        async with desk.uow() as uow:
            await accounts.merge(uow, keep_id, merge_id, by=desk.staff.key,
                                 link_channels=link, actor=actor)
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(f"{PATH}?merged={merge_id}", status_code=303)


ROUTES = [
    Route(PATH, registrations, methods=["GET"]),
    Route(PATH + "/merge", merge, methods=["POST"]),
]
