"""``clinicbot staff ...``: what the front desk does without chat.

The ``staff`` group holds one subcommand per desk action, defined by family in
bot/cli/staff_packages.py and staff_package_changes.py (sales, details, expiry, transfers,
refunds: RULES.md 1-2, 5, 9-12), bot/cli/staff_statement.py (a package's statement),
bot/cli/staff_billing.py (invoices, payments, memberships: RULES.md 2, 13-16),
bot/cli/staff_credit.py (the credit a patient holds: RULES.md 9),
bot/cli/staff_appointments.py and staff_visits.py (slots, bookings, moves, arrival: RULES.md
3-7, 20-21), bot/cli/staff_closures.py (clinic closures and time off: RULES.md 20),
bot/cli/staff_noshows.py (RULES.md 8), bot/cli/staff_people.py (registrations
and merges: RULES.md 18), bot/cli/staff_access.py (staff chats and family links: RULES.md
8, 17), bot/cli/staff_invitations.py (inviting a family member: issue 18),
bot/cli/staff_password.py (console passwords), bot/cli/staff_messages.py (the inbox
of patients' messages and alerts: issue 17) and bot/cli/staff_export.py (everything held about
one patient: issue 21). Each command is one unit of work committed at its
end: a refusal prints ``Error: ...`` on stderr, exits 2 and changes nothing.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

from bot.cli import (
    staff_access,
    staff_appointments,
    staff_billing,
    staff_closures,
    staff_credit,
    staff_erase,
    staff_export,
    staff_invitations,
    staff_messages,
    staff_noshows,
    staff_package_changes,
    staff_packages,
    staff_password,
    staff_people,
    staff_series,
    staff_statement,
    staff_visits,
    staff_waitlist,
)
from bot.cli.staff_common import Desk


class _InOrder(click.Group):
    """Lists subcommands in the order they were added (by family), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group("staff", cls=_InOrder)
@click.option(
    "--as",
    "acting",
    metavar="STAFF_KEY",
    default="desk",
    show_default=True,
    help="The staff member acting (a [[staff]] key); recorded on refunds, merges, no-shows.",
)
@click.pass_context
def staff_group(ctx: click.Context, acting: str) -> None:
    """What the front desk does without chat.

    Patients are given by id, set-up key or +phone; practitioners, locations, fees, packages
    and plans by their set-up keys; times as the clinic's local time (YYYY-MM-DD HH:MM).
    Run 'clinicbot staff COMMAND --help' for an example of each command.
    """
    explicit = ctx.get_parameter_source("acting") is not ParameterSource.DEFAULT
    ctx.obj = Desk(acting, explicit=explicit)


def register(cli: click.Group) -> None:
    """Add the ``staff`` group, with every desk command, to the ``clinicbot`` group."""
    families = (
        staff_packages, staff_package_changes, staff_statement, staff_billing, staff_credit,
        staff_appointments, staff_visits, staff_closures, staff_noshows, staff_people, staff_erase,
        staff_access, staff_invitations, staff_password, staff_messages, staff_series,
        staff_waitlist, staff_export,
    )
    for family in families:
        for command in family.COMMANDS:
            staff_group.add_command(command)
    cli.add_command(staff_group)
