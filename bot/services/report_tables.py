"""The reports as plain tables, one definition for ``clinicbot report ... --format csv`` and
the console's CSV downloads (``/desk/reports/{name}.csv``), so both give the same file.

Each ``*_table`` turns a report of :mod:`bot.services.reports` (or its months, compensation,
memberships, or the credit holders of :mod:`bot.services.credit`) into machine headers and
rows of plain values (ISO dates, plain decimals, ids); :func:`report_table` loads one by name
for a range of clinic dates. CSV carries no totals; the one summary figure it carries, the
times refilled from the waitlist, is the last row of package-usage (:data:`REFILLED`, in the
package column, its count under ``uses``). Writing them as CSV (and guarding against
spreadsheet formulas) is :func:`bot.cli.output.render`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bot.services import (
    compensation,
    credit,
    membership_report,
    receipt_reports,
    report_months,
    reports,
    waitlist,
)
from bot.services.errors import NotFound
from bot.storage.uow import UnitOfWork

Cell = str | int | Decimal | date | datetime | None
# Report names, as in the console's URLs; package-usage is the CLI's ``--section uses``,
# practitioners and no-shows its other sections.
NAMES: tuple[str, ...] = (
    "package-sales", "package-usage", "practitioners", "no-shows", "unpaid", "credit")
# The per-month, compensation and membership tables (``--section`` of their CLI commands).
NAMES += ("sales-by-month", "uses-by-month", "compensation", "memberships", "membership-plans")
# The label of package-usage's last row: freed times booked by waiting patients in the range.
REFILLED = "times_refilled_from_waitlist"


@dataclass(frozen=True)
class Table:
    """Machine headers and the rows under them."""

    headers: list[str]
    rows: list[list[Cell]]


def sales_table(report: reports.PackageSales) -> Table:
    """Packages sold: one row each, the seller's staff id last."""
    return Table(
        ["package_id", "sold_on", "patient_id", "patient_name", "package", "sold_by",
         "price", "collected", "outstanding", "refunded", "sold_by_staff_id"],
        [[r.package_id, r.sold_on, r.patient_id, r.patient_name, r.package_name, r.sold_by,
          r.price, r.collected, r.outstanding, r.refunded, r.sold_by_staff_id]
         for r in report.rows])


def usage_table(report: reports.PackageUsage, refilled: int) -> Table:
    """Uses redeemed per month, package, practitioner and seller; last, the ``refilled``
    times (:data:`REFILLED`)."""
    rows: list[list[Cell]] = [
        [r.period, r.package_name, r.practitioner, r.sold_by,
         "true" if r.credited_at_redemption else "false", r.at_sessions, r.at_no_shows, r.uses]
        for r in report.rows]
    rows.append([None, REFILLED, None, None, None, None, None, refilled])
    return Table(
        ["month", "package", "practitioner", "sold_by", "credited_at_redemption",
         "at_sessions", "at_no_shows", "uses"], rows)


def receipts_table(months: list[receipt_reports.ReceiptMonth]) -> Table:
    """Insurance receipts per month and package (package-usage's receipts section)."""
    return Table(
        ["month", "package", "kind", "receipts", "session_value", "patient_paid"],
        [[m.period, m.package_name, m.kind, m.receipts, m.value, m.patient_pays]
         for m in months])


async def usage_part(uow: UnitOfWork, part: str, report: reports.PackageUsage) -> Table:
    """One section of ``report package-usage --format csv``: uses, practitioners, no-shows,
    months or receipts."""
    if part == "uses":
        return usage_table(report, await waitlist.refilled(uow, report.date_from, report.date_to))
    if part == "receipts":
        return receipts_table(await receipt_reports.receipts_by_month(
            uow, report.date_from, report.date_to))
    return {"practitioners": practitioners_table, "no-shows": no_shows_table,
            "months": uses_months_table}[part](report)


def practitioners_table(report: reports.PackageUsage) -> Table:
    """Each practitioner's uses, and those credited to them at redemption."""
    return Table(["practitioner", "uses", "credited_at_redemption"],
                 [[p.practitioner, p.uses, p.credited] for p in report.practitioners])


def no_shows_table(report: reports.PackageUsage) -> Table:
    """Package no-shows per month: redeemed vs charged a fee, and the fees."""
    return Table(["month", "redeemed", "charged", "charged_amount"],
                 [[n.period, n.redeemed, n.charged, n.charged_amount]
                  for n in report.no_shows])


def unpaid_table(report: reports.Unpaid) -> Table:
    """Open invoices due by the report's day, most overdue first."""
    return Table(
        ["invoice_id", "patient_id", "patient_name", "kind", "description", "issued_on",
         "due_on", "days_overdue", "amount", "paid", "outstanding"],
        [[r.invoice_id, r.patient_id, r.patient_name, r.kind, r.description, r.issued_on,
          r.due_on, r.days_overdue, r.amount, r.paid, r.outstanding] for r in report.rows])


def credit_table(found: list[credit.CreditHolder]) -> Table:
    """Credit held for each patient, largest first, with what they owe."""
    return Table(["patient_id", "patient_name", "credit", "owed"],
                 [[h.patient_id, h.patient_name, h.credit, h.owed] for h in found])


def sales_months_table(report: reports.PackageSales) -> Table:
    """Packages sold per month, every month of the range."""
    return Table(["month", "sold", "price", "collected"],
                 [[m.period, m.sold, m.price, m.collected]
                  for m in report_months.sales_by_month(report)])


def uses_months_table(report: reports.PackageUsage) -> Table:
    """Uses redeemed per month, every month of the range."""
    return Table(["month", "at_sessions", "at_no_shows", "uses"],
                 [[m.period, m.at_sessions, m.at_no_shows, m.uses]
                  for m in report_months.uses_by_month(report)])


def compensation_table(report: compensation.Compensation) -> Table:
    """Per person: sales assigned to them (paid at sale), uses credited at redemption."""
    return Table(
        ["name", "staff_id", "practitioner_id", "sales_at_sale", "amount_at_sale",
         "uses_credited_at_redemption", "of_which_no_shows"],
        [[r.name, r.staff_id, r.practitioner_id, r.sales, r.sales_amount, r.credited_uses,
          r.credited_no_shows] for r in report.rows])


def membership_months_table(report: membership_report.MembershipReport) -> Table:
    """Members per month: at its start, joined, ended, at its end, churn (%)."""
    return Table(["month", "active_at_start", "joined", "ended", "active_at_end",
                  "churn_percent"],
                 [[m.period, m.active_at_start, m.joined, m.ended, m.active_at_end,
                   m.churn_percent] for m in report.months])


def membership_plans_table(report: membership_report.MembershipReport) -> Table:
    """Per plan: active on the last day, joined, ended, renewals due after it."""
    return Table(["plan", "plan_name", "period", "active", "joined", "ended",
                  "renewals_due"],
                 [[p.plan_key, p.plan_name, p.period, p.active, p.joined, p.ended,
                   p.renewals_due] for p in report.plans])


async def report_table(uow: UnitOfWork, name: str, date_from: date, date_to: date) -> Table:
    """The report ``name`` (one of :data:`NAMES`) for ``date_from`` to ``date_to`` inclusive
    (unpaid: due in the range; credit: held now)."""
    if name == "package-sales":
        return sales_table(await reports.package_sales(uow, date_from, date_to))
    if name in ("package-usage", "practitioners", "no-shows"):
        usage = await reports.package_usage(uow, date_from, date_to)
        return await usage_part(uow, "uses" if name == "package-usage" else name, usage)
    if name == "unpaid":
        return unpaid_table(await reports.unpaid(uow, date_to, date_from=date_from))
    if name == "credit":
        return credit_table(await credit.holders(uow))
    return await _more_tables(uow, name, date_from, date_to)


async def _more_tables(uow: UnitOfWork, name: str, date_from: date, date_to: date) -> Table:
    """The per-month, compensation and membership tables by name."""
    if name == "sales-by-month":
        return sales_months_table(await reports.package_sales(uow, date_from, date_to))
    if name == "uses-by-month":
        return uses_months_table(await reports.package_usage(uow, date_from, date_to))
    if name == "compensation":
        return compensation_table(await compensation.compensation(uow, date_from, date_to))
    if name in ("memberships", "membership-plans"):
        found = await membership_report.membership_report(uow, date_from, date_to)
        return (membership_months_table if name == "memberships"
                else membership_plans_table)(found)
    raise NotFound(f"there is no report {name!r}")
