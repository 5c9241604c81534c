"""The membership report (RULES.md 13, 16): members per plan, renewals due, and joins and churn
month by month, for a range of the clinic's local dates ``date_from`` to ``date_to`` inclusive.

A membership is *active* on a day from its ``start`` until the day before ``cancelled_from``
(no period starting on or after it is billed); one cancelled from its start never was. It
*joins* on its start and *ends* on ``cancelled_from`` (a cancellation is its churn). A
*renewal* is the start of any period after the first (:func:`bot.services.periods.period_start`,
month ends clamp), unless cancelled by then.

* **Per plan**: members active on ``date_to``, joined and ended in the range, and renewals due
  in the ``renewal_days`` after ``date_to`` (with ``date_to`` today: active now, renewals in
  the coming days).
* **Per month** (every month the range touches; the first and last may be partial): active
  members at its start and end, joined, ended, and churn (ended / active at the start, %).

Set-based and bounded: two queries whatever the number of members, the plans and one grouped
count (members still running after the day before the range and starting by the end of the
renewal window, per plan, start day and cancellation day, a cancellation after that window
counted as none), from which every figure is added up. No query takes more parameters with more
members, and its rows grow with the distinct start days and the cancellations near the range,
not with the members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, or_, select

from bot.services.errors import InvalidInput
from bot.services.periods import first_period_after, period_start
from bot.services.report_months import months
from bot.services.reports import check_range
from bot.storage.models import Membership, MembershipPlan
from bot.storage.uow import UnitOfWork

RENEWAL_DAYS = 30
MAX_RENEWAL_DAYS = 366


@dataclass
class PlanMembers:
    """One plan: members on the last day, joins and ends in the range, renewals coming."""

    plan_key: str
    plan_name: str
    period: str
    active: int = 0
    joined: int = 0
    ended: int = 0
    renewals_due: int = 0


@dataclass(frozen=True)
class MembershipMonth:
    """One month of the range: members at its start and end, joins, ends and churn."""

    period: str
    active_at_start: int
    joined: int
    ended: int
    active_at_end: int

    @property
    def churn_percent(self) -> Decimal | None:
        """Ended as a share of those active at the start (None: nobody was)."""
        if not self.active_at_start:
            return None
        share = Decimal(100 * self.ended) / Decimal(self.active_at_start)
        return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MembershipReport:
    """The membership report: per plan and per month."""

    date_from: date
    date_to: date
    renewal_days: int
    plans: list[PlanMembers]
    months: list[MembershipMonth]

    @property
    def active(self) -> int:
        return sum(plan.active for plan in self.plans)

    @property
    def renewals_due(self) -> int:
        return sum(plan.renewals_due for plan in self.plans)


async def membership_report(
    uow: UnitOfWork, date_from: date, date_to: date, *, renewal_days: int = RENEWAL_DAYS
) -> MembershipReport:
    """Members per plan on ``date_to`` with renewals due in the ``renewal_days`` after it, and
    joins, ends, members and churn per month of the range."""
    check_range(date_from, date_to)
    if not 1 <= renewal_days <= MAX_RENEWAL_DAYS:
        raise InvalidInput(f"renewals are counted for 1 to {MAX_RENEWAL_DAYS} days ahead")
    plans = {
        pid: PlanMembers(key, name, period)
        for pid, key, name, period in (await uow.session.execute(
            select(MembershipPlan.id, MembershipPlan.key, MembershipPlan.name,
                   MembershipPlan.period).order_by(MembershipPlan.name, MembershipPlan.key)
        )).tuples()
    }
    before, last = date_from - timedelta(days=1), date_to + timedelta(days=renewal_days)
    per_month = {period: [0, 0] for period in months(date_from, date_to)}
    at_start = 0
    for plan_id, start, until, count in await _groups(uow, before, last):
        plan = plans[plan_id]
        if start <= before:  # every group was still a member after ``before``
            at_start += count
            plan.active += count
        elif start <= date_to and (until is None or until > start):
            per_month[start.strftime("%Y-%m")][0] += count
            plan.joined += count
            plan.active += count
        if until is not None and until <= date_to and until > start:
            per_month[until.strftime("%Y-%m")][1] += count
            plan.ended += count
            plan.active -= count
        if until is None or until > date_to:
            plan.renewals_due += count * _renewals(start, plan.period, date_to, last, until)
    rows: list[MembershipMonth] = []
    active = at_start
    for period, (came, went) in per_month.items():
        rows.append(MembershipMonth(period, active, came, went, active + came - went))
        active += came - went
    return MembershipReport(date_from, date_to, renewal_days, list(plans.values()), rows)


async def _groups(
    uow: UnitOfWork, before: date, last: date
) -> list[tuple[int, date, date | None, int]]:
    """Memberships still running after ``before`` that start by ``last``, counted per plan,
    start and cancellation (one on or before ``last``: a later one changes nothing here)."""
    until = case((Membership.cancelled_from <= last, Membership.cancelled_from), else_=None)
    running = (
        select(Membership.plan_id, Membership.start, until.label("until"))
        .where(Membership.start <= last,
               or_(Membership.cancelled_from.is_(None), Membership.cancelled_from > before))
        .subquery()
    )
    found = await uow.session.execute(
        select(running.c.plan_id, running.c.start, running.c.until, func.count())
        .group_by(running.c.plan_id, running.c.start, running.c.until)
    )
    return [(plan_id, start, cancelled, count)
            for plan_id, start, cancelled, count in found.tuples()]


def _renewals(start: date, period: str, after: date, last: date, until: date | None) -> int:
    """How many periods after the first start in ``after`` (excluded) to ``last``, before
    ``until``."""
    index = max(1, first_period_after(start, period, after))
    renews, count = period_start(start, period, index), 0
    while renews <= last and (until is None or renews < until):
        count += 1
        index += 1
        renews = period_start(start, period, index)
    return count
