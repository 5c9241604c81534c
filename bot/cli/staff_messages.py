"""Desk commands for the inbox (issue 17): patients' messages and staff alerts.

``messages`` lists what waits (``--all``: handled ones too), ``reply`` answers the patient on
their own channel and marks the item handled, ``handled`` marks it handled (``--undo``: back
to waiting). The state is the one every staff member sees (:mod:`bot.services.inbox`).
"""

from __future__ import annotations

import sys

import click

from bot.cli.common import Context, run
from bot.cli.staff_common import ID, Desk, echo, local_text
from bot.delivery.inbox_text import item_text
from bot.i18n import negotiate, translator
from bot.services import inbox
from bot.services.clinic import get_clinic, zone
from bot.storage.models import InboxItem, Patient
from bot.storage.uow import UnitOfWork


async def _state(uow: UnitOfWork, item: InboxItem) -> str:
    if item.handled_at is None:
        return "waiting"
    tz = zone(await get_clinic(uow))
    return f"handled by {item.handled_by} at {local_text(item.handled_at, tz)}"


async def _block(uow: UnitOfWork, item: InboxItem) -> list[str]:
    """An item as the desk reads it: a heading line, its text, then each reply."""
    clinic = await get_clinic(uow)
    tz = zone(clinic)
    t = translator(negotiate([], clinic.locale))
    about = ""
    if item.patient_id is not None:
        patient = await uow.session.get(Patient, item.patient_id)
        about = f" - patient {item.patient_id}" + (f" ({patient.full_name})" if patient else "")
    lines = [f"Item {item.id} - {local_text(item.created_at, tz)} - "
             f"{item.kind.replace('_', ' ')}{about} - {await _state(uow, item)}"]
    lines += [f"  {line}" for line in (await item_text(uow, clinic, item, t)).splitlines()]
    for answer in await inbox.replies(uow, item.id):
        lines.append(f"  Reply by {answer.staff_key} at {local_text(answer.created_at, tz)}: "
                     f"{answer.text}")
    return lines


@click.command("messages")
@click.option("--all", "everything", is_flag=True, help="Handled items too (after the waiting).")
@click.option("--handled", is_flag=True, help="Only the handled items.")
@click.option("--kind", metavar="KIND",
              help="Only this kind: message, no_show, registration, unpaid, delivery_failed...")
@click.option("--after", metavar="TOKEN", help="The next page (the token a listing printed).")
@click.option("--limit", type=click.IntRange(1, inbox.MAX_PAGE_SIZE), default=inbox.PAGE_SIZE,
              show_default=True, help="Items per page.")
def list_messages(
    everything: bool, handled: bool, kind: str | None, after: str | None, limit: int
) -> None:
    """List the inbox: patients' messages and staff alerts waiting, newest first.

    \b
    Examples:
      clinicbot staff messages
      clinicbot staff messages --all --kind message
    """
    state = inbox.HANDLED if handled else inbox.ALL if everything else inbox.UNHANDLED

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            page = await inbox.listing(uow, state=state, kind=kind, after=after, limit=limit)
            lines: list[str] = []
            for item in page.items:
                lines += await _block(uow, item)
        if not lines:
            lines = ["Nothing waits in the inbox." if state == inbox.UNHANDLED
                     else "No inbox items."]
        if page.next is not None:
            lines.append(f"More: clinicbot staff messages {' '.join(_flags(state, kind))}"
                         f"--after {page.next}")
        return lines

    echo(run(work))


def _flags(state: str, kind: str | None) -> list[str]:
    flags = {inbox.ALL: ["--all"], inbox.HANDLED: ["--handled"]}.get(state, [])
    return flags + ([f"--kind {kind}"] if kind else []) + [""]


@click.command("reply")
@click.argument("item_id", metavar="ITEM_ID", type=ID)
@click.argument("text", required=False)
@click.pass_obj
def reply(desk: Desk, item_id: int, text: str | None) -> None:
    """Reply to the patient of inbox item ITEM_ID, on their channel (SMS or Telegram).

    Without TEXT (or with -), the reply is read from standard input. The item is marked
    handled by the acting staff member (--as KEY).

    \b
    Examples:
      clinicbot staff --as desk reply 12 "Yes, 3 pm works. See you then."
      echo "We called you back." | clinicbot staff reply 12
    """
    if text is None or text == "-":
        if sys.stdin.isatty():
            click.echo("Type the reply, then Ctrl-D on a line of its own:", err=True)
        text = sys.stdin.read()

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            by = await desk.who(uow)
            answer = await inbox.reply(uow, item_id, by=by, text=text or "",
                                       actor=await desk.actor(uow))
            item = await inbox.get_item(uow, item_id)
            await uow.commit()
        return [f"Reply {answer.id} to patient {item.patient_id} is queued (outbox "
                f"{answer.outbox_id}); item {item_id} is handled by {item.handled_by}."]

    echo(run(work))


@click.command("handled")
@click.argument("item_id", metavar="ITEM_ID", type=ID)
@click.option("--undo", is_flag=True, help="Put the item back among those waiting.")
@click.pass_obj
def handled(desk: Desk, item_id: int, undo: bool) -> None:
    """Mark inbox item ITEM_ID handled, for every staff member (--undo: waiting again).

    \b
    Examples:
      clinicbot staff --as desk handled 12
      clinicbot staff handled 12 --undo
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            by = await desk.who(uow)
            actor = await desk.actor(uow)
            if undo:
                item, changed = await inbox.mark_unhandled(uow, item_id, actor=actor)
            else:
                item, changed = await inbox.mark_handled(uow, item_id, by=by, actor=actor)
            state = await _state(uow, item)
            await uow.commit()
        if undo:
            return (f"Item {item_id} waits again." if changed
                    else f"Item {item_id} was waiting already; nothing was changed.")
        if changed:
            return f"Item {item_id} is {state}."
        return f"Item {item_id} was already {state}; nothing was changed."

    click.echo(run(work))


COMMANDS = [list_messages, reply, handled]
