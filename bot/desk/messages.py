"""``/desk/messages``: the desk's inbox -- patients' "Talk to the clinic" messages and staff
alerts -- each item's page, the reply that reaches the patient, Handled / Not handled.

The same services as ``clinicbot staff messages``, ``reply`` and ``handled``
(:mod:`bot.services.inbox`): unhandled first, newest first, a page at a time (the listing's
keyset token in ``?after=``); the handled state is one row in the database that every staff
member sees; a reply is queued through the outbox to the patient's own channel (SMS or
Telegram) and refused, changing nothing, for a patient who opted out or cannot be reached. An
alert reads as it did in the staff chats or phones (:func:`bot.delivery.inbox_text.item_text`),
so an SMS-only clinic sees its alerts here too.

Reception and managers only: a practitioner's console is their own schedule (RULES.md, issue
17), and the inbox holds every patient's messages, which are not theirs to read.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.delivery.inbox_text import item_text
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import audit, inbox
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError, NotFound
from bot.services.recipients import recipient_for
from bot.storage.models import Patient

PATH = "/desk/messages"
PAGE_SIZE = 25
PREVIEW = 120


def _state(request: Request) -> str:
    state = request.query_params.get("state", inbox.UNHANDLED)
    return state if state in inbox.STATES else inbox.UNHANDLED


@desk_page(roles=DESK)
async def listing(request: Request) -> Response:
    """The inbox: ``?state=unhandled|handled|all`` and ``?after=TOKEN`` (the next page)."""
    desk = desk_of(request)
    state = _state(request)
    after = request.query_params.get("after") or None
    async with desk.uow(readonly=True) as uow:
        error = None
        try:
            page = await inbox.listing(uow, state=state, after=after, limit=PAGE_SIZE)
        except DomainError as exc:  # a page token mangled by hand: the first page, and why
            error = desk.t.error_text(exc)
            page = await inbox.listing(uow, state=state, limit=PAGE_SIZE)
        names = await inbox.patient_names(uow, page.items)
        more = (f"{PATH}?{urlencode({'state': state, 'after': page.next})}"
                if page.next else None)
        return render(request, "messages.html", items=page.items, names=names, state=state,
                      more=more, first=after is not None, error=error, preview=PREVIEW,
                      status_code=400 if error else 200)


async def _item_page(request: Request, item_id: int, *, error: str | None = None,
                     status_code: int = 200, draft: str = "") -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            item = await inbox.get_item(uow, item_id)
        except NotFound as exc:
            return render(request, "refused.html", status_code=404,
                          message=desk.t.error_text(exc))
        clinic = await get_clinic(uow)
        text = item.text if item.kind == "message" else await item_text(uow, clinic, item,
                                                                           desk.t)
        patient = (await uow.session.get(Patient, item.patient_id)
                   if item.patient_id is not None else None)
        goes_to = (await recipient_for(uow, item.patient_id)
                   if item.patient_id is not None else None)
        answers = await inbox.replies(uow, item.id)
        done = request.query_params.get("done") if error is None else None
        return render(request, "message.html", status_code=status_code, item=item, text=text,
                      patient=patient, goes_to=goes_to, answers=answers, error=error,
                      done=done, draft=draft, max_reply=inbox.MAX_REPLY_CHARS)


@desk_page(roles=DESK)
async def item_page(request: Request) -> Response:
    """One item: who, channel, when, its text, the replies, the reply form and the state."""
    return await _item_page(request, int(request.path_params["item_id"]))


def _actor(request: Request) -> audit.Actor:
    return audit.Actor(desk_of(request).staff.key, "console")


@desk_page(roles=DESK)
async def reply(request: Request) -> Response:
    """``text``: the reply (``clinicbot staff reply``); the item is then handled."""
    desk = desk_of(request)
    item_id = int(request.path_params["item_id"])
    sent = (await request.form()).get("text")
    text = sent if isinstance(sent, str) else ""
    try:
        async with desk.uow() as uow:
            await inbox.reply(uow, item_id, by=desk.staff.key, text=text,
                              actor=_actor(request))
            await uow.commit()
    except DomainError as exc:
        return await _item_page(request, item_id, error=desk.t.error_text(exc),
                                status_code=404 if isinstance(exc, NotFound) else 400,
                                draft=text)
    return RedirectResponse(f"{PATH}/{item_id}?done=replied", status_code=303)


async def _mark(request: Request, handled: bool) -> Response:
    desk = desk_of(request)
    item_id = int(request.path_params["item_id"])
    try:
        async with desk.uow() as uow:
            if handled:
                _, changed = await inbox.mark_handled(uow, item_id, by=desk.staff.key,
                                                      actor=_actor(request))
            else:
                _, changed = await inbox.mark_unhandled(uow, item_id, actor=_actor(request))
            await uow.commit()
    except DomainError as exc:
        return await _item_page(request, item_id, error=desk.t.error_text(exc),
                                status_code=404 if isinstance(exc, NotFound) else 400)
    done = ("handled" if handled else "waiting") if changed else "unchanged"
    return RedirectResponse(f"{PATH}/{item_id}?done={done}", status_code=303)


@desk_page(roles=DESK)
async def mark_handled(request: Request) -> Response:
    """Mark handled (``clinicbot staff handled``); a second click by anyone changes nothing."""
    return await _mark(request, True)


@desk_page(roles=DESK)
async def mark_unhandled(request: Request) -> Response:
    """Back among the waiting (``clinicbot staff handled --undo``)."""
    return await _mark(request, False)


ROUTES = [
    Route(PATH, listing, methods=["GET"]),
    Route(PATH + "/{item_id:int}", item_page, methods=["GET"]),
    Route(PATH + "/{item_id:int}/reply", reply, methods=["POST"]),
    Route(PATH + "/{item_id:int}/handled", mark_handled, methods=["POST"]),
    Route(PATH + "/{item_id:int}/unhandled", mark_unhandled, methods=["POST"]),
]
