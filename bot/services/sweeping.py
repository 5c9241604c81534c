"""Bounded pieces for sweeps over many rows: no statement grows its parameters with the data.

A sweep walks the rows it has to look at in chunks (:func:`chunk_size`: 250 rows on PostgreSQL,
100 on SQLite), each chunk its own short transaction (``UnitOfWork.checkpoint``), so a pass over
200,000 memberships never holds a lock, a transaction or the event loop for long, and no query
carries more than a chunk's worth of parameters (PostgreSQL refuses more than 32,767).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)

from bot.storage.hot import Hot
from bot.storage.models import Invoice, InvoiceReminder, Membership, MembershipSchedule
from bot.storage.models.billing import REMINDED_KINDS
from bot.storage.uow import UnitOfWork

T = TypeVar("T")
CHUNK = {"postgresql": 250, "sqlite": 100}
IN_LIST_CHUNK = 500  # ids per ``IN (...)`` when a caller holds a list of its own


def chunk_size(dialect: str) -> int:
    """Rows per chunk (and per transaction) of a sweep on ``dialect``."""
    return CHUNK.get(dialect, 100)


def in_chunks(items: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (for bounded ``IN (...)`` lists)."""
    if size < 1:
        raise ValueError("a chunk holds at least one item")
    for start in range(0, len(items), size):
        yield items[start : start + size]


Handle = Callable[[UnitOfWork, Sequence[Sequence[Any]]], Awaitable[int]]


async def walk(
    uow: UnitOfWork,
    due: Select[Any],
    key: tuple[ColumnElement[Any], ColumnElement[Any]],
    of: Any,
    handle: Handle,
) -> int:
    """Run ``handle`` on the rows ``due`` selects, a chunk at a time in ``key`` order (a
    cursor column and the id, indexed together), with a checkpoint between chunks; the sum of
    what ``handle`` returned (it is given the unit of work each chunk is in). The last chunk
    is left for the caller to commit.

    Each chunk is read past the previous one's last ``key`` (no OFFSET, no sort: a range of the
    index), its rows of ``of`` locked ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL, so two
    instances sweeping at once share the rows instead of waiting for each other.

    With ``uow.lanes`` above 1 (a sweep's own unit of work on PostgreSQL) the rows are split
    into that many lanes walked at once, each in a unit of work of its own (``uow.fresh()``,
    which commits its own last chunk): while one lane waits for the database, another works
    out its chunk. Each lane is a range of the key (see :func:`_lane_bounds`)."""
    lanes = uow.lanes
    bounds = await _lane_bounds(uow, due, key, lanes) if lanes > 1 else []
    if not bounds:
        return await _walk_lane(uow, due, key, of, handle)
    edges = [None, *bounds, None]

    async def side(lane: int) -> int:
        async with uow.fresh() as other:
            total = await _walk_lane(other, due, key, of, handle, edges[lane], edges[lane + 1])
            await other.commit()
            return total

    sides = [asyncio.create_task(side(lane)) for lane in range(1, len(edges) - 1)]
    try:
        total = await _walk_lane(uow, due, key, of, handle, edges[0], edges[1])
        return total + sum(await asyncio.gather(*sides))
    finally:
        for task in sides:
            task.cancel()
        await asyncio.gather(*sides, return_exceptions=True)


async def _lane_bounds(
    uow: UnitOfWork, due: Select[Any], key: tuple[ColumnElement[Any], ColumnElement[Any]],
    lanes: int,
) -> list[tuple[Any, Any]]:
    """The keys where each lane after the first starts (equal shares of the due rows in key
    order), or none when the rows make less than a chunk per lane. Lanes are ranges of the
    key's index, so each walks it in order with no filter (a filter such as ``id % 2`` made
    the planner sort every remaining due row for each chunk)."""
    cursor, ident = key
    keys = due.with_only_columns(cursor, ident)
    count = int(await uow.session.scalar(select(func.count()).select_from(keys.subquery())) or 0)
    if count < lanes * chunk_size(uow.dialect):
        return []
    ordered = keys.order_by(cursor, ident).limit(1)
    return [tuple((await uow.session.execute(ordered.offset(count * lane // lanes))).one())
            for lane in range(1, lanes)]


async def _walk_lane(
    uow: UnitOfWork,
    due: Select[Any],
    key: tuple[ColumnElement[Any], ColumnElement[Any]],
    of: Any,
    handle: Handle,
    start: tuple[Any, Any] | None = None,
    stop: tuple[Any, Any] | None = None,
) -> int:
    """:func:`walk` over the keys from ``start`` (included) to ``stop`` (excluded).

    Its two statements (the first chunk, and a chunk past a key) are built once per lane and
    run on the driver (:class:`bot.storage.hot.Hot`): a chunk's rows come as plain tuples."""
    size = chunk_size(uow.dialect)
    cursor, ident = key
    at = _positions(due, key)
    if stop is not None:
        due = due.where(tuple_(cursor, ident) < tuple_(*stop))
    stmt = locked(uow, due.order_by(cursor, ident).limit(size), of)
    first = Hot(stmt if start is None else stmt.where(tuple_(cursor, ident) >= tuple_(*start)))
    after = Hot(stmt.where(tuple_(cursor, ident) > tuple_(
        bindparam("after_cursor", type_=cursor.type), bindparam("after_id", type_=ident.type))))
    last: tuple[Any, Any] | None = None
    total = 0
    while True:
        if uow.dialect == "postgresql" and uow.waits_for_flush:
            # A chunk's commit need not wait for its WAL flush: a crash loses at most the last
            # chunks, which the next pass does again (idempotent), and a delivery that sends
            # one of their messages commits synchronously, flushing them first.
            await uow.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        rows = await (first.records(uow, {}) if last is None else after.records(
            uow, {"after_cursor": last[0], "after_id": last[1]}))
        if rows:
            total += await handle(uow, rows)
            last = (rows[-1][at[0]], rows[-1][at[1]])
        if len(rows) < size:
            return total
        await uow.checkpoint()


def _positions(due: Select[Any], key: tuple[ColumnElement[Any], ColumnElement[Any]]
               ) -> tuple[int, int]:
    """Where the key's two columns are among the columns ``due`` selects."""
    columns = list(due.selected_columns)
    found = [next((n for n, column in enumerate(columns) if column is part), None)
             for part in key]
    if found[0] is None or found[1] is None:
        raise ValueError("a walk's statement must select its key's columns")
    return found[0], found[1]


def locked(uow: UnitOfWork, stmt: Select[Any], of: Any) -> Select[Any]:
    """``stmt`` locking the rows of ``of`` it reads, skipping those another transaction holds
    (PostgreSQL; SQLite's writers take turns anyway)."""
    if uow.dialect != "postgresql":
        return stmt
    return stmt.with_for_update(of=of, skip_locked=True, key_share=True)


async def plan_changed(uow: UnitOfWork, plan_id: int) -> None:
    """A plan changed (a reload: its period, auto-invoicing or reminder days): its memberships'
    cursors go back to where the next sweep works them out afresh (never late)."""
    start = (select(Membership.start)
             .where(Membership.id == MembershipSchedule.membership_id).scalar_subquery())
    await uow.session.execute(
        update(MembershipSchedule)
        .where(MembershipSchedule.membership_id.in_(
            select(Membership.id).where(Membership.plan_id == plan_id)))
        .values(renewal_remind_on=start, next_invoice_on=func.coalesce(invoiced_until(), start))
    )


def invoiced_until() -> ColumnElement[Any]:
    """The end of a membership's latest invoiced period (set-based, for the schedule row being
    written), or NULL: ``next_invoice_on`` worked out afresh is that or its start (periods are
    invoiced in order, from the start)."""
    return (
        select(func.max(Invoice.period_end))
        .where(Invoice.membership_id == MembershipSchedule.membership_id)
        .scalar_subquery()
    )


async def unpaid_stages_changed(uow: UnitOfWork) -> None:
    """The clinic's ``unpaid_invoice_days`` changed: every open invoice the reminders chase is
    looked at again by the next sweep (which sends only the latest stage reached, once)."""
    await uow.session.execute(delete(InvoiceReminder))
    await uow.session.execute(insert(InvoiceReminder).from_select(
        ["invoice_id", "remind_on"],
        select(Invoice.id, Invoice.due_on)
        .where(Invoice.status == "open", Invoice.kind.in_(REMINDED_KINDS))))


def backfill(dialect: str) -> list[str]:
    """The cursors of existing rows, set-based (the benchmark's builder).

    Only ever early: invoicing from the end of the latest invoiced period (periods are invoiced
    in order) or the start; a renewal reminder from the end of the latest period begun before
    yesterday (the next renewal is never earlier), less the plan's reminder days, or the start;
    an open membership or installment invoice from its due date."""
    invoicing, renewal = membership_cursors(dialect)
    return [
        "INSERT INTO membership_schedule (membership_id, next_invoice_on, renewal_remind_on) "  # noqa: S608 - constant SQL
        f"SELECT id, {invoicing}, {renewal} FROM membership",
        "INSERT INTO invoice_reminder (invoice_id, remind_on) SELECT id, due_on FROM invoice "
        "WHERE status = 'open' AND kind IN ('membership', 'installment')",
    ]


def membership_cursors(dialect: str) -> tuple[str, str]:
    """:func:`backfill`'s two cursors of a ``membership`` row as SQL (migration 0012's too,
    which wrote them to columns of the membership)."""
    latest = ("(SELECT MAX(invoice.period_end) FROM invoice "
              "WHERE invoice.membership_id = membership.id{})")
    days = ("(SELECT COALESCE(membership_plan.remind_days_before, 0) FROM membership_plan "
            "WHERE membership_plan.id = membership.plan_id)")
    begun = " AND invoice.period_start <= {}".format(
        "CURRENT_DATE - 1" if dialect == "postgresql" else "date('now', '-1 day')")
    ended = latest.format(begun)
    remind = (f"{ended} - {days}" if dialect == "postgresql"
              else f"date({ended}, '-' || {days} || ' days')")
    return f"COALESCE({latest.format('')}, start)", f"COALESCE({remind}, start)"


async def prune(
    uow: UnitOfWork, model: Any, where: ColumnElement[bool], values: dict[str, Any] | None = None
) -> int:
    """Delete the rows of ``model`` matching ``where`` (or, with ``values``, set those columns),
    a chunk of ids at a time, each chunk its own transaction; how many rows it changed. The
    condition must stop matching a changed row (a blanked text, a deleted row), so two
    instances pruning at once share the rows (``SKIP LOCKED``) and count each once. The last
    chunk is left for the caller to commit."""
    size = chunk_size(uow.dialect)
    ident = model.id
    total = 0
    while True:
        ids = list((await uow.session.scalars(
            locked(uow, select(ident).where(where).order_by(ident).limit(size), model))).all())
        if not ids:
            return total
        chosen = where & ident.in_(ids)
        statement = (delete(model).where(chosen) if values is None
                     else update(model).where(chosen).values(values))
        result: Any = await uow.session.execute(
            statement.execution_options(synchronize_session=False))
        total += int(result.rowcount or 0)
        if len(ids) < size:
            return total
        await uow.checkpoint()
