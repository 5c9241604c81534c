"""``clinicbot staff erase PATIENT``: remove a patient's personal data (issue 21).

Shows who would be erased and what happens (or, refused, what to settle first), asks before
doing it (``--yes``: do not ask; without a terminal it refuses and says to pass ``--yes``), then
erases in one transaction (:mod:`bot.services.erasure`).
"""

from __future__ import annotations

import click

from bot.cli.common import Context, run
from bot.cli.staff_common import Desk, confirm, echo
from bot.services import erasure
from bot.services.errors import WrongState
from bot.services.lookup import find_patient

WHAT_HAPPENS = (
    "Name, phone, e-mail, birth date, language, Telegram link, chats, family links and the "
    "texts of messages are removed; invoices, payments, package uses, receipts, appointments "
    "and memberships stay, on an anonymous profile, so every report figure is unchanged. "
    "This cannot be undone."
)


@click.command("erase")
@click.argument("patient")
@click.option("--yes", is_flag=True, help="Erase without asking.")
@click.pass_obj
def erase(desk: Desk, patient: str, yes: bool) -> None:
    """Erase PATIENT's personal data (id, key or +phone), keeping invoices, payments, package
    uses and appointments as anonymous facts.

    Refused, with what to settle first, while anything is booked, owed or credited. Asks
    first (--yes: do not ask).

    \b
    Example:
      clinicbot staff erase maya
      clinicbot staff erase 42 --yes
    """

    async def look(ctx: Context) -> tuple[int, list[str]]:
        async with ctx.uow(readonly=True) as uow:
            found = await find_patient(uow, patient)
            profile, reasons = await erasure.erasable(uow, found.id)
            if reasons:
                raise WrongState(
                    f"patient {profile.id} cannot be erased yet; settle these first:\n  "
                    + "\n  ".join(reasons))
            return profile.id, [f"Erase patient {profile.id} {profile.full_name}.",
                                WHAT_HAPPENS]

    patient_id, lines = run(look)
    echo(lines)
    confirm(f"Erase patient {patient_id}?", yes)

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            done = await erasure.erase(uow, patient_id, actor=await desk.actor(uow))
            await uow.commit()
            first, last = erasure.erased_name(done.patient_id)
            return (f"Erased patient {done.patient_id}: now {first} {last}. If the set-up file "
                    "lists them under [[patients]], take them out before the next load.")

    click.echo(run(work))


COMMANDS = [erase]
