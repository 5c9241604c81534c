"""``/desk/reports/memberships?from=YYYY-MM-DD&to=YYYY-MM-DD``: the membership report for
managers (:func:`bot.services.membership_report.membership_report`, as ``clinicbot report
memberships``), linked from the Reports page, with the same range (default: this month so far).

Per plan: members on the last day (today by default: active now), joined and ended in the
range, renewals due in the :data:`~bot.services.membership_report.RENEWAL_DAYS` after it; per
month: members at its start and end, joined, ended and churn, with a chart and its text
alternative. Its own page: at 200,000 members its one grouped count is the heaviest query of
the reports. The CSV downloads are the Reports page's ``memberships`` and ``membership-plans``
(the CLI's ``--section months|plans``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.charts import Number, bar_chart
from bot.desk.reports import PATH as REPORTS
from bot.desk.reports import _range
from bot.desk.web import MANAGERS, desk_of, desk_page, render
from bot.services.membership_report import membership_report

PATH = REPORTS + "/memberships"


def _count(value: Number) -> str:
    return str(value)


@desk_page(roles=MANAGERS)
async def memberships_page(request: Request) -> Response:
    """Members per plan and per month for the range, with a chart and the CSV links."""
    desk = desk_of(request)
    _ = desk.t.gettext
    async with desk.uow(readonly=True) as uow:
        first, last, error = await _range(request, uow)
        found = await membership_report(uow, first, last)
    chart = bar_chart(
        _("Members by month"),
        [(m.period, [m.joined, m.ended, m.active_at_end]) for m in found.months],
        _count, [_("Joined"), _("Ended"), _("Active at month end")])
    return render(request, "report_members.html", status_code=400 if error else 200,
                  error=error, first=first, last=last, members=found, chart=chart,
                  query=f"from={first.isoformat()}&to={last.isoformat()}")


ROUTES = [Route(PATH, memberships_page, methods=["GET"])]
