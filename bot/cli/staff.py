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

from bot.cli.lazy import Family, LazyGroup, add_commands
from bot.cli.staff_common import Desk

# Each family's module and its commands, in the order ``clinicbot staff --help`` lists them;
# a family's module is imported only when one of its commands runs (bot/cli/lazy.py).
FAMILIES: tuple[Family, ...] = (
    ("bot.cli.staff_packages", ("sell", "packages", "package")),
    ("bot.cli.staff_package_changes", ("expiry", "transfer", "refund")),
    ("bot.cli.staff_statement", ("statement", "receipts", "receipt")),
    ("bot.cli.staff_billing", ("invoices", "pay", "memberships", "enrol", "cancel-membership")),
    ("bot.cli.staff_credit", ("credit", "pay-back")),
    ("bot.cli.staff_appointments", ("slots", "book", "appointments", "cancel")),
    ("bot.cli.staff_visits", (
        "reschedule", "add-package", "remove-package", "arrive", "undo-arrival")),
    ("bot.cli.staff_closures", ("closed", "time-off")),
    ("bot.cli.staff_noshows", ("no-show", "no-shows", "resolve", "undo")),
    ("bot.cli.staff_people", ("duplicates", "merge", "keep-separate")),
    ("bot.cli.staff_erase", ("erase",)),
    ("bot.cli.staff_access", ("revoke-chat", "add-guardian", "remove-guardian")),
    ("bot.cli.staff_invitations", ("invite", "invitations", "invite-resend", "invite-revoke")),
    ("bot.cli.staff_password", ("password",)),
    ("bot.cli.staff_messages", ("messages", "reply", "handled")),
    ("bot.cli.staff_series", ("series", "cancel-series")),
    ("bot.cli.staff_waitlist", ("waitlist",)),
    ("bot.cli.staff_export", ("export",)),
)


@click.group("staff", cls=LazyGroup, families=FAMILIES, install=add_commands, ordered=True)
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
    """Add the ``staff`` group (its families load as they are used) to the ``clinicbot`` group."""
    cli.add_command(staff_group)
