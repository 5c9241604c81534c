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

Set-based and bounded: five queries whatever the number of members (the plans; members active
the day before the range, per plan; joins and ends grouped by day and plan; renewals grouped by
plan, start and cancellation). None takes more parameters with more members, and the rows read
grow with the days of the range and the distinct start days, not with the members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, or_, select

from bot.services.errors import InvalidInput
from bot.services.periods import first_period_after, period_start
from bot.services.report_months import months
from bot.services.reports import _check_range
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
    _check_range(date_from, date_to)
    if not 1 <= renewal_days <= MAX_RENEWAL_DAYS:
        raise InvalidInput(f"renewals are counted for 1 to {MAX_RENEWAL_DAYS} days ahead")
    plans = {
        pid: PlanMembers(key, name, period)
        for pid, key, name, period in (await uow.session.execute(
            select(MembershipPlan.id, MembershipPlan.key, MembershipPlan.name,
                   MembershipPlan.period).order_by(MembershipPlan.name, MembershipPlan.key)
        )).tuples()
    }
    ever_active = or_(Membership.cancelled_from.is_(None),
                      Membership.cancelled_from > Membership.start)
    before = date_from - timedelta(days=1)
    at_start = dict((await uow.session.execute(
        select(Membership.plan_id, func.count())
        .where(Membership.start <= before,
               or_(Membership.cancelled_from.is_(None), Membership.cancelled_from > before))
        .group_by(Membership.plan_id)
    )).tuples().all())
    joined = await uow.session.execute(
        select(Membership.start, Membership.plan_id, func.count())
        .where(Membership.start >= date_from, Membership.start <= date_to, ever_active)
        .group_by(Membership.start, Membership.plan_id)
    )
    ended = await uow.session.execute(
        select(Membership.cancelled_from, Membership.plan_id, func.count())
        .where(Membership.cancelled_from >= date_from, Membership.cancelled_from <= date_to,
               Membership.cancelled_from > Membership.start)
        .group_by(Membership.cancelled_from, Membership.plan_id)
    )
    per_month: dict[str, list[int]] = {period: [0, 0] for period in months(date_from, date_to)}
    for plan_id, count in at_start.items():
        plans[plan_id].active += count
    for day, plan_id, count in joined.tuples():
        per_month[day.strftime("%Y-%m")][0] += count
        plans[plan_id].joined += count
        plans[plan_id].active += count
    for until, plan_id, count in ended.tuples():
        per_month[until.strftime("%Y-%m") if until else ""][1] += count
        plans[plan_id].ended += count
        plans[plan_id].active -= count
    await _renewals(uow, plans, date_to, renewal_days)
    rows: list[MembershipMonth] = []
    active = sum(at_start.values())
    for period, (came, went) in per_month.items():
        rows.append(MembershipMonth(period, active, came, went, active + came - went))
        active += came - went
    return MembershipReport(date_from, date_to, renewal_days, list(plans.values()), rows)


async def _renewals(
    uow: UnitOfWork, plans: dict[int, PlanMembers], after: date, days: int
) -> None:
    """Add to each plan the renewals falling in the ``days`` after ``after``."""
    last = after + timedelta(days=days)
    groups = await uow.session.execute(
        select(Membership.plan_id, MembershipPlan.period, Membership.start,
               Membership.cancelled_from, func.count())
        .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
        .where(Membership.start < last,
               or_(Membership.cancelled_from.is_(None), Membership.cancelled_from > after))
        .group_by(Membership.plan_id, MembershipPlan.period, Membership.start,
                  Membership.cancelled_from)
    )
    due: dict[int, int] = defaultdict(int)
    for plan_id, period, start, cancelled, count in groups.tuples():
        index = max(1, first_period_after(start, period, after))
        renews = period_start(start, period, index)
        while renews <= last and (cancelled is None or renews < cancelled):
            due[plan_id] += count
            index += 1
            renews = period_start(start, period, index)
    for plan_id, count in due.items():
        plans[plan_id].renewals_due += count
