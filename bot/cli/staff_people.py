"""Desk commands for people (RULES.md 18): online registrations that look like a profile on
file, and merging the two so nothing is lost or counted twice.

``merge`` first runs the merge in a transaction it rolls back, to show exactly what would move
(and to refuse early what the merge would refuse), then asks before doing it for real. It shows
the evidence of an online registration (its channel and masked phone, when it registered, what
matched) and moves its phone or Telegram account to the kept file only with ``--link-channel``.
"""

from __future__ import annotations

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import Desk, confirm, echo
from bot.services import accounts, desk_queues, kept_apart
from bot.services.clinic import get_clinic, zone
from bot.services.lookup import as_id, find_patient
from bot.services.merge_evidence import evidence, mask_phone
from bot.services.merging import MergeResult
from bot.storage.models import Patient
from bot.storage.uow import UnitOfWork

WHAT_MOVED = {
    "appointment": "appointments",
    "patient_package": "packages",
    "invoice": "invoices",
    "payment": "payments",
    "credit_entry": "credit entries",
    "membership": "memberships",
    "conversation": "chats",
    "outbox_message": "queued messages",
    "appointment_series": "series",
    "earlier_merges": "earlier merges",
    "guardianships": "family links",
}


def _profile(patient: Patient) -> str:
    born = patient.birth_date.isoformat() if patient.birth_date else "birth date unknown"
    origin = "online registration" if patient.online_registration else "on file"
    return (
        f"patient {patient.id} {patient.full_name}, {patient.phone or 'no phone'}, "
        f"born {born} ({origin})"
    )


def _moved(result: MergeResult) -> str:
    parts = [
        f"{WHAT_MOVED.get(name, name)}: {count}" for name, count in result.moved.items() if count
    ]
    return ", ".join(parts) or "nothing to move"


@click.command("duplicates")
def duplicates() -> None:
    """List online registrations that look like a profile on file (same phone, or same name
    and birth date), to merge with 'clinicbot staff merge'.

    \b
    Example:
      clinicbot staff duplicates
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            tz = zone(await get_clinic(uow))
            rows: list[list[Cell]] = [
                [
                    found.patient.id, found.patient.full_name, found.patient.phone,
                    found.patient.birth_date, found.patient.created_at.astimezone(tz).date(),
                    ", ".join(f"{other.id} ({other.full_name})" for other in found.resembles),
                ]
                for found in await desk_queues.registrations_to_merge(uow, limit=None)
            ]
            headers = ["registration", "name", "phone", "born", "registered", "resembles"]
            lines = [render(headers, rows).rstrip("\n")]
            if rows:
                lines.append("Merge one into the profile to keep: clinicbot staff merge KEEP MERGE")
                lines.append("Or, if they are different people: clinicbot staff keep-separate A B")
            return lines

    echo(run(work))


async def _evidence(uow: UnitOfWork, registration: Patient, other: Patient, link: bool
                    ) -> list[str]:
    """What staff must judge before an online registration's channel reaches ``other``."""
    found = await evidence(uow, registration.id, other.id)
    if not found.has_channel:
        return []
    channel = (f"Telegram (shared phone {found.phone})" if found.telegram and found.phone
               else "Telegram" if found.telegram else f"phone {found.phone}")
    when = found.registered_at.astimezone(zone(await get_clinic(uow))).strftime("%Y-%m-%d %H:%M")
    matched = [what for what, same in (("phone", found.same_phone),
                                       ("name and birth date", found.same_name_and_birth_date))
               if same]
    likeness = (f"it matches patient {other.id} by {' and '.join(matched)}" if matched
                else f"it matches patient {other.id} by neither phone nor name and birth date")
    lines = [f"Evidence: patient {registration.id} registered online {when} from {channel}; "
             f"{likeness}."]
    if link:
        lines.append(f"--link-channel: its {channel} will open the merged file (you checked "
                     "with the patient that it is their own).")
    else:
        lines.append(f"Its {channel} will be taken off and will not open the merged file; "
                     "give --link-channel only once you have checked with the patient that it "
                     "is their own.")
    return lines


async def _patient_id(uow: UnitOfWork, ref: str) -> int:
    # An id is taken as it is (so a profile merged already is named as such by the merge).
    number = as_id(ref)
    return number if number is not None else (await find_patient(uow, ref)).id


@click.command("merge")
@click.argument("keep")
@click.argument("merge_ref", metavar="MERGE")
@click.option(
    "--link-channel",
    is_flag=True,
    help="The online registration's phone / Telegram account is the patient's own (checked): "
    "it opens the merged file. Without it, that channel is taken off.",
)
@click.option("--yes", is_flag=True, help="Merge without asking.")
@click.pass_obj
def merge(desk: Desk, keep: str, merge_ref: str, link_channel: bool, yes: bool) -> None:
    """Merge profile MERGE into profile KEEP (ids, keys or +phones).

    Appointments, packages, invoices, payments, credit, memberships and chat links move to
    KEEP; MERGE stays only as a pointer to KEEP. The phone or Telegram account of an online
    registration opens KEEP's file only with --link-channel: a matching name and birth date
    proves nothing. Shows the evidence and what would move, and asks first (--yes: do not ask).

    \b
    Example:
      clinicbot staff merge maya 7
      clinicbot staff merge maya 7 --link-channel
    """

    async def look(ctx: Context) -> tuple[int, int, list[str]]:
        async with ctx.uow() as uow:  # a trial merge, rolled back: shows what would move
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            keep_id, merge_id = await _patient_id(uow, keep), await _patient_id(uow, merge_ref)
            kept = await uow.session.get(Patient, keep_id)
            gone = await uow.session.get(Patient, merge_id)
            lines = [f"Keep:  {_profile(kept)}"] if kept else []
            lines += [f"Merge: {_profile(gone)}"] if gone else []
            if kept and gone:
                for registration, other in ((gone, kept), (kept, gone)):
                    if registration.online_registration:
                        lines += await _evidence(uow, registration, other, link_channel)
            trial = await accounts.merge(uow, keep_id, merge_id, by=by,
                                         link_channels=link_channel, actor=actor)
            lines.append(f"Would move to patient {keep_id}: {_moved(trial)}.")
            return keep_id, merge_id, lines

    keep_id, merge_id, lines = run(look)
    echo(lines)
    confirm(f"Merge patient {merge_id} into patient {keep_id}?", yes)

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            result = await accounts.merge(uow, keep_id, merge_id, by=await desk.who(uow),
                                          link_channels=link_channel, actor=actor)
            await uow.commit()
            left = [mask_phone(c) if c.startswith("+") else "Telegram account"
                    for c in result.left_off]
            off = f" Taken off (not linked): {', '.join(left)}." if left else ""
            return (
                f"Merged patient {result.merged_id} into patient {result.kept_id}: "
                f"moved {_moved(result)}.{off}"
            )

    click.echo(run(work))


@click.command("keep-separate")
@click.argument("first")
@click.argument("second")
@click.option("--undo", is_flag=True, help="Forget an earlier keep-separate of this pair.")
@click.pass_obj
def keep_separate(desk: Desk, first: str, second: str, undo: bool) -> None:
    """Record that profiles FIRST and SECOND (ids, keys or +phones) are different people: the
    registration stops being offered for a merge in 'staff duplicates' and the console.

    --undo forgets the decision (the pair is offered again if it still looks alike).

    \b
    Example:
      clinicbot staff keep-separate 7 maya
      clinicbot staff keep-separate 7 maya --undo
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            a, b = await _patient_id(uow, first), await _patient_id(uow, second)
            if undo:
                done = await kept_apart.undo(uow, a, b, actor=actor)
                await uow.commit()
                return (f"Patients {a} and {b} are no longer kept separate." if done
                        else f"Patients {a} and {b} were not kept separate; nothing to undo.")
            await kept_apart.keep_separate(uow, a, b, by=await desk.who(uow), actor=actor)
            await uow.commit()
            return f"Kept patients {a} and {b} separate: they are not offered for a merge."

    click.echo(run(work))


COMMANDS = [duplicates, merge, keep_separate]
