"""``/desk/registrations``: online registrations that look like a profile, and Merge.

The same services as ``clinicbot staff duplicates`` and ``staff merge``
(:func:`bot.services.desk_queues.registrations_to_merge`, :mod:`bot.services.merge_evidence`,
:func:`bot.services.accounts.merge`). Each pair is shown side by side with the evidence
(channel, masked phone, birth date, what matched). Merging asks first, like the CLI: the first
POST runs the merge in a transaction it rolls back, to show what would move and to refuse early
what the merge would refuse; only the confirmation (``confirmed=yes``) merges. The
registration's channel opens the kept file only when staff tick that they checked it is the
patient's own. Keep separate (:mod:`bot.services.kept_apart`, like ``staff keep-separate``)
records that the two are different people, so the pair leaves the queue here and on the
dashboard; the page then offers Undo. Reception and managers only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import accounts, audit, desk_queues, kept_apart
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
        apart = [_number(v) for v in request.query_params.get("kept", "").split("-", 1)]
        kept = None
        if error is None and len(apart) == 2 and None not in apart:
            first = await uow.session.get(Patient, apart[0])
            second = await uow.session.get(Patient, apart[1])
            if first is not None and second is not None:
                kept = (first, second)
        return render(request, "registrations.html", status_code=status_code, pairs=pairs,
                      error=error, done=done, kept=kept)


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


@desk_page(roles=DESK)
async def keep_separate(request: Request) -> Response:
    """``registration``, ``other`` (patient ids): they are different people. ``back=dashboard``
    returns to the dashboard."""
    desk = desk_of(request)
    form = await request.form()
    first, second = _number(form.get("registration")), _number(form.get("other"))
    if first is None or second is None:
        return await _show(request, status_code=400, error=desk.t.gettext(
            "Choose the two profiles to keep separate from the list."))
    try:
        async with desk.uow() as uow:
            await kept_apart.keep_separate(uow, first, second, by=desk.staff.key,
                                           actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    if form.get("back") == "dashboard":
        return RedirectResponse("/desk/", status_code=303)
    return RedirectResponse(f"{PATH}?kept={first}-{second}", status_code=303)


@desk_page(roles=DESK)
async def undo_keep_separate(request: Request) -> Response:
    """``registration``, ``other``: forget that they were kept separate."""
    desk = desk_of(request)
    form = await request.form()
    first, second = _number(form.get("registration")), _number(form.get("other"))
    if first is None or second is None:
        return await _show(request, status_code=400, error=desk.t.gettext(
            "Choose the two profiles to keep separate from the list."))
    try:
        async with desk.uow() as uow:
            await kept_apart.undo(uow, first, second,
                                  actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(PATH, status_code=303)


ROUTES = [
    Route(PATH, registrations, methods=["GET"]),
    Route(PATH + "/merge", merge, methods=["POST"]),
    Route(PATH + "/keep-separate", keep_separate, methods=["POST"]),
    Route(PATH + "/keep-separate/undo", undo_keep_separate, methods=["POST"]),
]
