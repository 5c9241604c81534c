"""``/desk/reports?from=YYYY-MM-DD&to=YYYY-MM-DD``: the clinic's reports for managers, each as
a table with a bar chart, and ``/desk/reports/{name}.csv`` to download one.

The same services as ``clinicbot report`` (:mod:`bot.services.reports`,
:func:`bot.services.credit.holders`, and the months and compensation of
:mod:`bot.desk.report_sections`; the membership report has its page,
:mod:`bot.desk.report_members`); the CSV's columns come from
:mod:`bot.services.report_tables`, the definition the CLI's ``--format csv`` uses, so a
download is byte for byte the CLI's file for the same range. Dates are the clinic's local
dates, ``from`` to ``to`` inclusive (default: the 1st of this month to today). Package usage
also counts the times refilled from the waitlist. Unpaid lists the invoices due in the range;
credit is what is held now. Tables show at most :data:`ROWS` rows (the CSV has them all).
Managers only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.cli.output import render as render_rows
from bot.desk import report_sections
from bot.desk.charts import Number, bar_chart
from bot.desk.web import MANAGERS, Desk, desk_of, desk_page, render
from bot.services import credit, receipt_reports, report_tables, reports, waitlist
from bot.services.billing import ZERO
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import DomainError
from bot.storage.uow import UnitOfWork

PATH = "/desk/reports"
ROWS = 100
OVERDUE = ((0, 30), (31, 60), (61, 90), (91, None))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


async def _range(request: Request, uow: UnitOfWork) -> tuple[date, date, str | None]:
    """The range asked for, or this month so far with what was wrong."""
    desk = desk_of(request)
    today = local_today(await get_clinic(uow), uow.clock.now())
    asked = {key: request.query_params.get(key) for key in ("from", "to")}
    first, last = _day(asked["from"]), _day(asked["to"])
    error = None
    if (asked["from"] and first is None) or (asked["to"] and last is None):
        error = desk.t.gettext("Type the days as YYYY-MM-DD.")
        first = last = None
    last = last or today
    first = first or last.replace(day=1)
    if first > last:
        error = desk.t.gettext("The range starts after it ends: swap From and To.")
        first, last = today.replace(day=1), today
    return first, last, error


def _money(desk: Desk) -> Callable[[Number], str]:
    """``money`` for one page, remembering each amount's text: a report repeats the same
    prices and zeros hundreds of times, and each formatting costs a tenth of a millisecond."""
    memo: dict[Number, str] = {}

    def money(value: Number) -> str:
        if value not in memo:
            memo[value] = desk.t.money(Decimal(value), desk.currency)
        return memo[value]

    return money


def _charts(desk: Desk, money: Callable[[Number], str], sales: reports.PackageSales,
            usage: reports.PackageUsage, unpaid: reports.UnpaidOverview,
            held: list[credit.CreditHolder]) -> dict[str, Any]:
    _ = desk.t.gettext

    def count(value: Number) -> str:
        return str(value)

    by_package: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for sale in sales.rows:
        by_package[sale.package_name][0] += sale.price
        by_package[sale.package_name][1] += sale.collected
    buckets: list[tuple[str, list[Number]]] = []
    overdue = [((unpaid.as_of - due_on).days, amount) for due_on, amount in unpaid.by_due_on]
    for low, high in OVERDUE:
        label = (_("{low}–{high} days overdue", low=low, high=high) if high is not None
                 else _("over {low} days overdue", low=low - 1))
        buckets.append((label, [sum((amount for days, amount in overdue
                                     if days >= low and (high is None or days <= high)), ZERO)]))
    return {
        "package-sales": bar_chart(
            _("Package sales by package"),
            sorted(((name, list(v)) for name, v in by_package.items()),
                   key=lambda item: -item[1][0]),
            money, [_("Price"), _("Collected")]),
        "practitioners": bar_chart(
            _("Uses by practitioner"),
            [(p.practitioner, [p.uses, p.credited]) for p in usage.practitioners],
            count, [_("Uses"), _("Credited at redemption")]),
        "unpaid": bar_chart(_("Outstanding by days overdue"), buckets, money,
                            [_("Outstanding")]),
        "credit": bar_chart(_("Credit held, largest first"),
                            [(h.patient_name, [h.credit]) for h in held], money,
                            [_("Credit")]),
    }


@desk_page(roles=MANAGERS)
async def reports_page(request: Request) -> Response:
    """Every report for the range, each with its chart and CSV link."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        first, last, error = await _range(request, uow)
        sales = await reports.package_sales(uow, first, last)
        usage = await reports.package_usage(uow, first, last)
        unpaid = await reports.unpaid_overview(uow, last, date_from=first, rows=ROWS)
        held = await credit.holders(uow)
        more = await report_sections.load(uow, first, last, sales, usage)
        money = _money(desk)
        charts = _charts(desk, money, sales, usage, unpaid, held)
        charts.update(report_sections.charts(desk, money, more))
        return render(
            request, "reports.html", status_code=400 if error else 200, error=error,
            first=first, last=last, sales=sales, usage=usage, unpaid=unpaid, held=held,
            parts=more, charts=charts, rows=ROWS, money=money,
            query=f"from={first.isoformat()}&to={last.isoformat()}",
            insured=await receipt_reports.insurance_sales(uow, first, last),
            refilled=await waitlist.refilled(uow, first, last),
            receipt_months=await receipt_reports.receipts_by_month(uow, first, last))


@desk_page(roles=MANAGERS)
async def report_csv(request: Request) -> Response:
    """One report as CSV, the same file as ``clinicbot report ... --format csv``."""
    desk = desk_of(request)
    name = request.path_params["name"]
    if name not in report_tables.NAMES:
        return render(request, "report_error.html", status_code=404, message=desk.t.gettext(
            "There is no such report. Choose one on the Reports page."))
    async with desk.uow(readonly=True) as uow:
        first, last, error = await _range(request, uow)
        if error is not None:
            return render(request, "report_error.html", status_code=400, message=error)
        try:
            table = await report_tables.report_table(uow, name, first, last)
        except DomainError as exc:
            return render(request, "report_error.html", status_code=400,
                          message=desk.t.error_text(exc))
    filename = f"{name}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(render_rows(table.headers, table.rows, "csv"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


ROUTES = [
    Route(PATH, reports_page, methods=["GET"]),
    Route(PATH + "/{name}.csv", report_csv, methods=["GET"]),
]
