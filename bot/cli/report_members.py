"""``clinicbot report compensation`` (RULES.md 12) and ``clinicbot report memberships`` (RULES.md
13, 16), as aligned tables or as CSV, with the options and defaults of :mod:`bot.cli.report`
(``--from`` to ``--to`` inclusive, clinic dates; default: the 1st of ``--to``'s month to
``--to``, today by default). CSV columns come from :mod:`bot.services.report_tables`, as the
console's downloads do.
"""

from __future__ import annotations

from datetime import date

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell
from bot.cli.report import _csv, _options, _range, _table
from bot.cli.staff_common import echo
from bot.services import report_tables
from bot.services.clinic import get_clinic
from bot.services.compensation import compensation
from bot.services.membership_report import MAX_RENEWAL_DAYS, RENEWAL_DAYS, membership_report

MEMBER_SECTIONS = ("plans", "months")


@click.command("compensation")
@_options
def compensation_report(date_from: date | None, date_to: date | None, fmt: str) -> None:
    """Staff compensation both ways: per person, packages assigned to them at sale (paid at
    sale) and uses of unassigned sales they redeemed (credited at redemption).

    Sales are counted by purchase date, uses by the session's date (redeemed no-shows
    included). The table ends with the range's unassigned sales.

    \b
    Example:
      clinicbot report compensation --from 2026-11-01 --to 2026-11-30 --format csv
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            currency = (await get_clinic(uow)).currency
            report = await compensation(uow, *await _range(uow, date_from, date_to))
            table = report_tables.compensation_table(report)
            if fmt == "csv":
                return _csv(table)
            rows: list[list[Cell]] = [
                [r.name, r.sales, r.sales_amount, r.credited_uses, r.credited_no_shows]
                for r in report.rows
            ]
            rows.append(["total", report.total_sales, report.total_sales_amount,
                         report.total_credited_uses, None])
            rows.append(["unassigned sales", report.unassigned_sales, report.unassigned_amount,
                         None, None])
            headers = ["name", "sold (paid at sale)", f"amount {currency}",
                       "uses credited at redemption", "of which no-shows"]
            title = f"Compensation {report.date_from} to {report.date_to}:"
            return _table(title, headers, rows, fmt)

    echo(run(work))


@click.command("memberships")
@_options
@click.option("--days", type=click.IntRange(1, MAX_RENEWAL_DAYS), default=RENEWAL_DAYS,
              show_default=True, help="Count renewals due this many days after --to.")
@click.option("--section", type=click.Choice(MEMBER_SECTIONS),
              help="Only this part (CSV default: months).")
def memberships_report(
    date_from: date | None, date_to: date | None, fmt: str, days: int, section: str | None
) -> None:
    """Members per plan on --to (today by default: active now) with renewals due in the --days
    after it; and per month of the range: members at its start and end, joined, ended, churn.

    A membership ends on its cancellation date; churn is the month's ended members as a share
    of those active at its start. CSV prints one part (--section; default: months).

    \b
    Example:
      clinicbot report memberships --from 2026-01-01 --to 2026-06-30 --format csv
    """
    wanted = [section] if section else (["months"] if fmt == "csv" else list(MEMBER_SECTIONS))

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            first, last = await _range(uow, date_from, date_to)
            report = await membership_report(uow, first, last, renewal_days=days)
        plans = report_tables.membership_plans_table(report)
        months = report_tables.membership_months_table(report)
        if fmt == "csv":
            return _csv(plans if wanted == ["plans"] else months)
        lines = [f"Memberships {report.date_from} to {report.date_to}:"]
        if "plans" in wanted:
            rows: list[list[Cell]] = [*plans.rows, ["total", None, None, report.active, None, None,
                                                    report.renewals_due]]
            headers = ["plan", "name", "period", f"active on {report.date_to}", "joined",
                       "ended", f"renewals in {days} days"]
            lines += _table("By plan:", headers, rows, fmt)
        if "months" in wanted:
            headers = ["month", "at start", "joined", "ended", "at end", "churn %"]
            lines += _table("By month:", headers, months.rows, fmt)
        return lines

    echo(run(work))


def register(group: click.Group) -> None:
    """Add ``compensation`` and ``memberships`` to the ``report`` group."""
    group.add_command(compensation_report)
    group.add_command(memberships_report)
