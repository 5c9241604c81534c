"""``clinicbot report package-sales|package-usage|unpaid|credit``: the clinic's reports (RULES.md
9, 12, 15, 22), as an aligned table with a totals row, or as CSV for spreadsheets and scripts.
(``report compensation`` and ``report memberships`` are :mod:`bot.cli.report_members`'s.)

Dates are the clinic's local dates, ``--from`` to ``--to`` inclusive. Defaults: sales and usage
cover the 1st of ``--to``'s month (default: today) to ``--to``; unpaid lists what is due by
``--to`` (default: today); credit lists the credit held now. CSV has one header line, ISO
dates and plain decimals, no totals (package-usage's last row is the times refilled from the
waitlist); its columns are defined once in
:mod:`bot.services.report_tables`, shared with the console's CSV downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

from bot.cli import report_audit
from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import DATE, echo
from bot.delivery import queue
from bot.services import credit, receipt_reports, report_tables, reports, waitlist
from bot.services.billing import ZERO
from bot.services.clinic import get_clinic, local_today, zone
from bot.storage.uow import UnitOfWork

F = TypeVar("F", bound=Callable[..., Any])
SECTIONS = ("uses", "practitioners", "no-shows", "months", "receipts")


def _options(func: F) -> F:
    func = click.option(
        "--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
        show_default=True, help="An aligned table with totals, or CSV.",
    )(func)
    func = click.option("--to", "date_to", type=DATE, help="Last day, YYYY-MM-DD.")(func)
    func = click.option("--from", "date_from", type=DATE, help="First day, YYYY-MM-DD.")(func)
    return func


async def _range(
    uow: UnitOfWork, date_from: date | None, date_to: date | None
) -> tuple[date, date]:
    """The range asked for: ``--to`` defaults to today, ``--from`` to the 1st of its month."""
    if date_to is None:
        date_to = local_today(await get_clinic(uow), uow.clock.now())
    return date_from or date_to.replace(day=1), date_to


def _csv(table: report_tables.Table) -> list[str]:
    return [render(table.headers, table.rows, "csv").rstrip("\n")]


def _table(title: str, headers: list[str], rows: list[list[Cell]], fmt: str) -> list[str]:
    if fmt == "csv":
        return [render(headers, rows, "csv").rstrip("\n")]
    return [title, render(headers, rows).rstrip("\n")]


@click.group("report")
def report_group() -> None:
    """The clinic's reports: package sales and usage, compensation, memberships, unpaid
    invoices, credit, the outbox."""


@report_group.command("package-sales")
@_options
@click.option("--section", type=click.Choice(["sales", "months"]), default="sales",
              show_default=True, help="Each sale, or the count and amounts per month.")
def package_sales(date_from: date | None, date_to: date | None, fmt: str, section: str) -> None:
    """Packages sold in the range: by whom, price, collected, outstanding, refunded; with
    --section months, how many were sold and for how much in each month of the range.

    Transfers to family members are not sales. A sale without a seller is 'unassigned' (its
    practitioner is credited at each redemption).

    \b
    Example:
      clinicbot report package-sales --from 2026-10-01 --to 2026-10-31 --format csv
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            currency = (await get_clinic(uow)).currency
            report = await reports.package_sales(uow, *await _range(uow, date_from, date_to))
            title = f"Package sales {report.date_from} to {report.date_to}:"
            if section == "months":
                months = report_tables.sales_months_table(report)
                if fmt == "csv":
                    return _csv(months)
                return _table(title, ["month", "sold", f"price {currency}", "collected"],
                              months.rows, fmt)
            if fmt == "csv":
                return _csv(report_tables.sales_table(report))
            rows: list[list[Cell]] = [
                [
                    r.package_id, r.sold_on, r.patient_id, r.patient_name, r.package_name,
                    r.sold_by, r.price, r.collected, r.outstanding, r.refunded,
                ]
                for r in report.rows
            ]
            headers = [
                "package", "sold on", "patient", "name", "package name", "sold by",
                f"price {currency}", "collected", "outstanding", "refunded",
            ]
            rows.append([
                None, None, None, None, "total", None, report.total_price,
                report.total_collected, report.total_outstanding, report.total_refunded,
            ])
            lines = _table(title, headers, rows, fmt)
            insured = await receipt_reports.insurance_sales(uow, report.date_from, report.date_to)
            if insured.count:
                lines.append(
                    f"Insurance-friendly: {insured.count} sold, price {insured.price}, collected "
                    f"{insured.collected}, receipted so far {insured.receipted} {currency}")
            return lines

    echo(run(work))


@report_group.command("package-usage")
@_options
@click.option(
    "--section", type=click.Choice(SECTIONS),
    help="Only this part (CSV default: uses).",
)
def package_usage(
    date_from: date | None, date_to: date | None, fmt: str, section: str | None
) -> None:
    """Package uses redeemed in the range (by session date): per month, package, practitioner
    and seller; per practitioner; package no-shows redeemed vs charged a fee; the uses of
    every month of the range (months); and (all parts, as a table) the times refilled from the
    waitlist: freed times booked by waiting patients, by appointment date.

    A sale credited to a seller was paid at sale; an unassigned one credits the practitioner at
    each redemption. CSV prints one part (--section; default: uses, whose last row is the
    times refilled from the waitlist).

    \b
    Example:
      clinicbot report package-usage --from 2026-11-01 --to 2026-11-30
    """
    wanted = [section] if section else (["uses"] if fmt == "csv" else list(SECTIONS))

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            currency = (await get_clinic(uow)).currency
            report = await reports.package_usage(uow, *await _range(uow, date_from, date_to))
            lines: list[str] = []
            if fmt == "table":
                lines.append(f"Package usage {report.date_from} to {report.date_to}:")
            if fmt == "csv":
                for part in wanted:
                    lines += _csv(await report_tables.usage_part(uow, part, report))
                return lines
            if "uses" in wanted:
                rows: list[list[Cell]] = [
                    [
                        r.period, r.package_name, r.practitioner, r.sold_by,
                        "practitioner" if r.credited_at_redemption else "seller",
                        r.at_sessions, r.at_no_shows, r.uses,
                    ]
                    for r in report.rows
                ]
                headers = ["month", "package", "practitioner", "sold by", "credited to",
                           "at sessions", "at no-shows", "uses"]
                rows.append([None, "total", None, None, None, None, None, report.total_uses])
                lines += _table("Uses redeemed:", headers, rows, fmt)
            if "practitioners" in wanted:
                rows = [[p.practitioner, p.uses, p.credited] for p in report.practitioners]
                headers = ["practitioner", "uses", "credited at redemption"]
                lines += _table("By practitioner:", headers, rows, fmt)
            if "no-shows" in wanted:
                rows = [
                    [n.period, n.redeemed, n.charged, n.charged_amount] for n in report.no_shows
                ]
                headers = ["month", "redeemed", "charged a fee", f"fees {currency}"]
                lines += _table("Package no-shows:", headers, rows, fmt)
            if "months" in wanted:
                months = report_tables.uses_months_table(report)
                lines += _table("By month:", months.headers, months.rows, fmt)
            if "receipts" in wanted:  # shown unasked only when there are some
                receipted = await receipt_reports.receipts_by_month(
                    uow, report.date_from, report.date_to)
                if receipted or section == "receipts":
                    lines += _receipts(receipted, currency)
            if section is None:
                refilled = await waitlist.refilled(uow, report.date_from, report.date_to)
                lines.append(f"Times refilled from the waitlist: {refilled} (freed times booked "
                             "by waiting patients)")
            return lines

    echo(run(work))


def _receipts(months: list[receipt_reports.ReceiptMonth], currency: str) -> list[str]:
    """The insurance-friendly receipts section of package-usage (issue 18, item 2)."""
    rows: list[list[Cell]] = [
        [m.period, m.package_name, "refund adjustment" if m.kind == "adjustment" else "session",
         m.receipts, m.value, m.patient_pays] for m in months]
    rows.append([None, "total", None, sum(m.receipts for m in months),
                 sum((m.value for m in months), ZERO), sum((m.patient_pays for m in months), ZERO)])
    headers = ["month", "package", "receipt", "receipts", f"session value {currency}",
               "patient paid"]
    return _table("Insurance receipts:", headers, rows, "table")


@report_group.command("unpaid")
@_options
def unpaid(date_from: date | None, date_to: date | None, fmt: str) -> None:
    """Open invoices due by --to (default: today), most overdue first; --from leaves out
    those due before it.

    \b
    Example:
      clinicbot report unpaid --format csv
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            currency = (await get_clinic(uow)).currency
            report = await reports.unpaid(uow, date_to, date_from=date_from)
            if fmt == "csv":
                return _csv(report_tables.unpaid_table(report))
            rows: list[list[Cell]] = [
                [
                    r.invoice_id, r.patient_id, r.patient_name, r.kind, r.description, r.issued_on,
                    r.due_on, r.days_overdue, r.amount, r.paid, r.outstanding,
                ]
                for r in report.rows
            ]
            headers = [
                "invoice", "patient", "name", "kind", "description", "issued", "due",
                "days overdue", f"amount {currency}", "paid", "outstanding",
            ]
            total: list[Cell] = [None] * 11
            total[4], total[10] = "total", report.total_outstanding
            rows.append(total)
            return _table(f"Unpaid invoices due by {report.as_of}:", headers, rows, fmt)

    echo(run(work))


@report_group.command("credit")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
    show_default=True, help="An aligned table with totals, or CSV.",
)
def credit_report(fmt: str) -> None:
    """Patients the clinic holds credit for (refunds, money paid when nothing was owed),
    largest first, with what they still owe on open invoices.

    Use a patient's credit with 'clinicbot staff pay INVOICE --from-credit'; see its entries
    with 'clinicbot staff credit PATIENT'.

    \b
    Example:
      clinicbot report credit --format csv
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            currency = (await get_clinic(uow)).currency
            found = await credit.holders(uow)
            if fmt == "csv":
                return _csv(report_tables.credit_table(found))
            rows: list[list[Cell]] = [
                [h.patient_id, h.patient_name, h.credit, h.owed] for h in found
            ]
            headers = ["patient", "name", f"credit {currency}", "owed on open invoices"]
            rows.append([None, "total", sum((h.credit for h in found), ZERO), None])
            return _table("Credit held for patients:", headers, rows, fmt)

    echo(run(work))


@report_group.command("outbox")
@click.option("--status", type=click.Choice(queue.STATUSES), help="Only messages in this state.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
    show_default=True, help="An aligned table, or CSV.",
)
def outbox(status: str | None, fmt: str) -> None:
    """Proactive messages (reminders, alerts), newest first: to whom, when due, how they went.

    Times are clinic time. 'to' is the patient or staff member by id; 'note' says why a message
    was skipped or failed.

    \b
    Example:
      clinicbot report outbox --status failed
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            tz = zone(await get_clinic(uow))
            found = await queue.messages(uow, status=status)

            def local(moment: datetime | None) -> datetime | None:
                return None if moment is None else moment.astimezone(tz)

            rows: list[list[Cell]] = [
                [
                    m.id, m.purpose, m.kind,
                    f"patient {m.patient_id}" if m.patient_id else f"staff {m.staff_id}",
                    m.status, local(m.not_before), m.attempts, m.channel, local(m.sent_at),
                    m.delivery_status, m.last_error,
                ]
                for m in found
            ]
            headers = ["id", "purpose", "kind", "to", "status", "due", "tries", "channel",
                       "sent", "delivery", "note"]
            if fmt == "csv":
                headers = [h.replace("tries", "attempts") for h in headers]
            title = f"Outbox ({status or 'all'}):"
            return _table(title, headers, rows, fmt)

    echo(run(work))


def register(cli: click.Group) -> None:
    """Add the ``report`` group (with ``report audit``) to the ``clinicbot`` group."""
    from bot.cli import report_members, report_retention  # they use this module's helpers

    report_group.add_command(report_audit.audit_report)
    report_members.register(report_group)
    report_group.add_command(report_retention.retention_report)
    cli.add_command(report_group)
