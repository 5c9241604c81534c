"""Desk commands for closed time: ``staff closed ...`` (the clinic closed, e.g. a holiday) and
``staff time-off ...`` (a practitioner away), each with ``add``, ``list``, ``remove`` and
``notify`` (RULES.md 20; :mod:`bot.services.closures`).

Nothing is offered or booked in closed time, in chat or at the desk. Adding one over booked
appointments leaves them booked and lists them; the desk moves or cancels them, and tells their
patients (``--notify``, a question on a terminal, or ``notify ID`` later: one message per
patient, in their language). Times are typed in clinic time: ``YYYY-MM-DD`` for whole days,
``"YYYY-MM-DD HH:MM"`` for a moment.
"""

from __future__ import annotations

from datetime import date

import click

from bot.cli.closed_time import DAY_OR_TIME, Bound, add, listing, remove, tell
from bot.cli.staff_common import DATE, ID

NOTIFY = click.option(
    "--notify/--no-notify", default=None,
    help="Tell the patients booked then (default: ask on a terminal, else say how).")
REASON = click.option("--reason", metavar="TEXT", help="Why (shown to patients who are told).")


@click.group("closed")
def closed_group() -> None:
    """Clinic closures (holidays): nothing is offered or booked then.

    \b
    Examples:
      clinicbot staff closed add 2026-12-24 2026-12-26 --reason Holidays
      clinicbot staff closed add "2026-11-20 13:00" "2026-11-20 17:00" --location east
      clinicbot staff closed list
      clinicbot staff closed notify 3
      clinicbot staff closed remove 3
    """


@closed_group.command("add")
@click.argument("start", metavar="FROM", type=DAY_OR_TIME)
@click.argument("end", metavar="[TO]", type=DAY_OR_TIME, required=False)
@click.option("--location", "location_keys", multiple=True, metavar="KEY",
              help="Only at this location (repeat for more; default: every location).")
@REASON
@NOTIFY
def closedadd(start: Bound, end: Bound | None, location_keys: tuple[str, ...],
               reason: str | None, notify: bool | None) -> None:
    """Close the clinic from FROM to TO (clinic time).

    A date is a whole day (as TO: through its end); without TO, the one day FROM. A time is
    "YYYY-MM-DD HH:MM" (quote it). Booked appointments then are listed (and stay booked).

    \b
    Example:
      clinicbot staff closed add 2026-12-24 2026-12-26 --reason Holidays --notify
    """
    add(False, None, start, end, location_keys, reason, notify)


@closed_group.command("list")
@click.option("--from", "from_day", type=DATE, help="Closures ending after this day "
              "(default: from now).")
def closedlisting(from_day: date | None) -> None:
    """List clinic closures still to come (or ending after --from), with booked appointments.

    \b
    Example:
      clinicbot staff closed list
    """
    listing(False, None, from_day)


@closed_group.command("remove")
@click.argument("closure_id", metavar="ID", type=ID)
def closedremove(closure_id: int) -> None:
    """Remove clinic closure ID: its time can be offered and booked again.

    \b
    Example:
      clinicbot staff closed remove 3
    """
    remove(False, closure_id)


@closed_group.command("notify")
@click.argument("closure_id", metavar="ID", type=ID)
def closed_notify(closure_id: int) -> None:
    """Tell each patient booked during closure ID (once each, in their language).

    \b
    Example:
      clinicbot staff closed notify 3
    """
    tell(False, closure_id)


@click.group("time-off")
def time_off_group() -> None:
    """Practitioners' time off: nothing is offered or booked with them then, anywhere.

    \b
    Examples:
      clinicbot staff time-off add ana "2026-11-20 12:00" "2026-11-20 17:00" --reason Course
      clinicbot staff time-off add ben 2026-12-01 2026-12-05
      clinicbot staff time-off list ana
      clinicbot staff time-off remove 4
    """


@time_off_group.command("add")
@click.argument("practitioner_key", metavar="PRACTITIONER")
@click.argument("start", metavar="FROM", type=DAY_OR_TIME)
@click.argument("end", metavar="[TO]", type=DAY_OR_TIME, required=False)
@REASON
@NOTIFY
def time_offadd(practitioner_key: str, start: Bound, end: Bound | None, reason: str | None,
                 notify: bool | None) -> None:
    """Give PRACTITIONER time off from FROM to TO (clinic time).

    A date is a whole day (as TO: through its end); without TO, the one day FROM. A time is
    "YYYY-MM-DD HH:MM" (quote it). Booked appointments then are listed (and stay booked).

    \b
    Example:
      clinicbot staff time-off add ana "2026-11-20 12:00" "2026-11-20 17:00" --reason Course
    """
    add(True, practitioner_key, start, end, (), reason, notify)


@time_off_group.command("list")
@click.argument("practitioner_key", metavar="[PRACTITIONER]", required=False)
@click.option("--from", "from_day", type=DATE, help="Time off ending after this day "
              "(default: from now).")
def time_offlisting(practitioner_key: str | None, from_day: date | None) -> None:
    """List time off still to come (of PRACTITIONER, or everyone), with booked appointments.

    \b
    Example:
      clinicbot staff time-off list ana
    """
    listing(True, practitioner_key, from_day)


@time_off_group.command("remove")
@click.argument("closure_id", metavar="ID", type=ID)
def time_offremove(closure_id: int) -> None:
    """Remove time off ID: the practitioner can be booked then again.

    \b
    Example:
      clinicbot staff time-off remove 4
    """
    remove(True, closure_id)


@time_off_group.command("notify")
@click.argument("closure_id", metavar="ID", type=ID)
def time_off_notify(closure_id: int) -> None:
    """Tell each patient booked with the practitioner during time off ID (once each).

    \b
    Example:
      clinicbot staff time-off notify 4
    """
    tell(True, closure_id)


COMMANDS = [closed_group, time_off_group]
