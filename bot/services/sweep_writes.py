"""A sweep chunk's writes in one statement: its rows inserted and its cursors moved (issue 15).

:func:`insert_and_move` is what each chunk of :func:`bot.services.sweeping.walk` writes: on
PostgreSQL one data-modifying statement over arrays (compiled and prepared once whatever the
chunk, one round trip), on SQLite the inserts and then the cursor update. :func:`move_cursors`
moves a chunk's cursors on their own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Table,
    TextClause,
    bindparam,
    delete,
    insert,
    text,
    update,
)

from bot.storage.models import Base
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore_many, insert_ignore_many_returning

Cursors = tuple[Table, str, Sequence[tuple[int, date | None]]]


@dataclass(frozen=True)
class Rows:
    """Rows to insert into ``model``'s table unless their ``conflict`` columns exist."""

    model: type[Base]
    rows: Sequence[Mapping[str, Any]]
    conflict: Sequence[str]


@dataclass(frozen=True)
class Follow:
    """A row of ``model`` for each row the main insert added: each of its ``columns`` (pairs
    of its column and the added row's column it is taken from); with ``later``, the date
    column it names is that many ``days`` after the added row's."""

    model: type[Base]
    columns: tuple[tuple[str, str], ...]
    later: str | None = None
    days: int = 0


async def insert_and_move(
    uow: UnitOfWork,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    cursors: Cursors,
    *,
    also: Sequence[Rows] = (),
    follow: Follow | None = None,
) -> int:
    """A chunk's writes: insert ``rows`` into ``model``'s table unless their ``conflict``
    columns exist (ON CONFLICT DO NOTHING), with a ``follow`` row for each one added, insert
    the ``also`` rows likewise, and move ``cursors`` (a table, its cursor column, and each
    (id, cursor) of the chunk, see :func:`move_cursors`); how many of
    ``rows`` were inserted.

    On PostgreSQL one statement does it all (a data-modifying CTE over one array per column,
    see :func:`_unnest_writes`: compiled and prepared once however many rows, one round trip);
    on SQLite the inserts, then :func:`move_cursors`."""
    cursor_table, name, moved = cursors
    also = [extra for extra in also if extra.rows]
    if uow.dialect != "postgresql" or not rows:
        created = await _insert_one_by_one(uow, Rows(model, rows, conflict), follow)
        for extra in also:
            await insert_ignore_many(uow, extra.model, extra.rows, extra.conflict)
        await move_cursors(uow, cursor_table, name, moved)
        return created
    params: dict[str, Any] = cursor_params(cursor_table, name, moved)
    shapes = []
    for n, write in enumerate([Rows(model, rows, conflict), *also]):
        table = cast(Table, write.model.__table__)
        columns, arrays = _columns(uow, table, write.rows)
        shapes.append((table, columns, tuple(write.conflict)))
        params.update({f"r{n}c{c}": array for c, array in enumerate(arrays)})
    follows = None
    if follow is not None:
        follows = (cast(Table, follow.model.__table__), follow.columns, follow.later)
        params["follow_days"] = follow.days
    stmt = _unnest_writes(uow.engine.dialect, tuple(shapes), follows, cursor_table, name)
    return int((await uow.session.execute(stmt, params)).scalar_one())


async def _insert_one_by_one(uow: UnitOfWork, write: Rows, follow: Follow | None) -> int:
    """The main insert and its follow rows as separate statements (SQLite, or no rows)."""
    if follow is None:
        return await insert_ignore_many(uow, write.model, write.rows, write.conflict)
    added = await insert_ignore_many_returning(
        uow, write.model, write.rows, write.conflict, [source for _, source in follow.columns])
    if added:  # rows of new rows: nothing can be in their way
        later = timedelta(days=follow.days)
        await uow.session.execute(insert(follow.model), [
            {column: value + later if column == follow.later else value
             for (column, _), value in zip(follow.columns, row, strict=True)}
            for row in added])
    return len(added)


async def move_cursors(
    uow: UnitOfWork, table: Table, name: str, moved: Sequence[tuple[int, date | None]]
) -> None:
    """Set ``table.<name>`` of each (id, cursor) of a chunk (the id is the table's primary
    key). A None cursor clears a nullable column; where the column cannot be NULL (a cursor in a
    table of its own, :class:`bot.storage.models.InvoiceReminder`) it deletes the row.

    On PostgreSQL one statement over arrays (:func:`cursor_moves`: the same every chunk, so it
    is compiled and prepared once; a ``VALUES`` list of the chunk's rows was compiled afresh per
    chunk, most of a full pass's Python time), on SQLite an executemany (and a delete)."""
    if not moved:
        return
    if uow.dialect == "postgresql":
        parts = cursor_moves(table, name)
        head = ", ".join(f"m{n} AS ({part})" for n, part in enumerate(parts[:-1]))
        await uow.session.execute(
            text(f"WITH {head} {parts[-1]}" if head else parts[-1]),
            cursor_params(table, name, moved))
        return
    key, target = _key(table), table.c[name]
    kept = [(ident, cursor) for ident, cursor in moved if cursor is not None or target.nullable]
    if kept:
        await uow.session.execute(
            update(table).where(key == bindparam("row_id")).values({target: bindparam("cursor")}),
            [{"row_id": ident, "cursor": cursor} for ident, cursor in kept])
    if len(kept) < len(moved):
        await uow.session.execute(delete(table).where(
            key.in_([ident for ident, cursor in moved if cursor is None])))


def _key(table: Table) -> ColumnElement[Any]:
    (key,) = table.primary_key.columns
    return key


def cursor_moves(table: Table, name: str) -> list[str]:
    """The data-modifying SQL (PostgreSQL) that moves a chunk's cursors of ``table.<name>``:
    ``UPDATE ... FROM unnest(:ids, :cursors)``, and ``DELETE ... WHERE key = ANY(:gone)`` when
    the column cannot be NULL (see :func:`move_cursors`); their parameters come from
    :func:`cursor_params`. Constant names from the models, never from data."""
    key = _key(table).name
    column = table.c[name]
    parts = [
        f"UPDATE {table.name} SET {column.name} = moved.cursor "  # noqa: S608 - model names only
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:cursors AS date[])) AS moved (id, cursor) "
        f"WHERE {table.name}.{key} = moved.id"]
    if not column.nullable:
        parts.append(f"DELETE FROM {table.name} WHERE {key} = ANY(CAST(:gone AS bigint[]))")  # noqa: S608
    return parts


def cursor_params(
    table: Table, name: str, moved: Sequence[tuple[int, date | None]]
) -> dict[str, Any]:
    """The arrays :func:`cursor_moves` reads: ``ids`` and ``cursors`` (and ``gone``)."""
    if table.c[name].nullable:
        return {"ids": [ident for ident, _ in moved], "cursors": [cursor for _, cursor in moved]}
    kept = [(ident, cursor) for ident, cursor in moved if cursor is not None]
    return {"ids": [ident for ident, _ in kept], "cursors": [cursor for _, cursor in kept],
            "gone": [ident for ident, cursor in moved if cursor is None]}


def _columns(
    uow: UnitOfWork, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The columns ``rows`` set (with any scalar default the rows leave out) and one array of
    bound values per column, through each column type's own bind processing (a value repeated
    from the row before, as a chunk's "now" is, is processed once). A column with a computed
    default must be given: an insert over arrays never calls it."""
    given = tuple(rows[0]) if rows else ()
    defaults: dict[str, Any] = {}
    for column in table.c:
        if column.name in given or column.default is None or column.primary_key:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"rows for {table.name} must give {column.name} (computed default)")
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    names = given + tuple(defaults)
    dialect = uow.engine.dialect
    arrays: list[list[Any]] = []
    for column_name in names:
        process = table.c[column_name].type.bind_processor(dialect)
        values = ([row[column_name] for row in rows] if column_name in given
                  else [defaults[column_name]] * len(rows))
        arrays.append(_processed(values, process) if process else values)
    return names, arrays


def _processed(values: list[Any], process: Any) -> list[Any]:
    out: list[Any] = []
    last: Any = object()
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, process(value)
        out.append(done)
    return out


Shape = tuple[Table, tuple[str, ...], tuple[str, ...]]
Followed = tuple[Table, tuple[tuple[str, str], ...], str | None]


@functools.lru_cache(maxsize=32)
def _unnest_writes(
    dialect: Dialect, inserts: tuple[Shape, ...], follow: Followed | None, cursor_table: Table,
    cursor_column: str,
) -> TextClause:
    """``INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING`` for
    each of ``inserts`` (table, columns, conflict columns; arrays ``:r<n>c<column>``), the
    first one's added rows followed by a ``follow`` row each (its ``later`` column
    ``:follow_days`` after), and the cursor moves of
    :func:`cursor_moves`, in one statement; counts the first insert's
    added rows (constant names from the models, never from data)."""
    parts = [f"moved{n} AS ({part})" for n, part in enumerate(cursor_moves(cursor_table,
                                                                           cursor_column))]
    sources = [source for _, source in follow[1]] if follow else []
    for n, (table, columns, conflict) in enumerate(inserts):
        arrays = ", ".join(
            f"CAST(:r{n}c{c} AS {table.c[name].type.compile(dialect=dialect)}[])"
            for c, name in enumerate(columns))
        returning = f" RETURNING {', '.join(sources) or '1'}" if n == 0 else ""
        parts.append(
            f"added{n} AS (INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - model names only
            f"SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING{returning})")
    if follow is not None:
        followed, pairs, later = follow
        targets = ", ".join(c for c, _ in pairs)
        picked = ", ".join(f"{s} + CAST(:follow_days AS integer)" if c == later else s
                           for c, s in pairs)
        parts.append(f"followed AS (INSERT INTO {followed.name} ({targets}) "  # noqa: S608 - model names only
                     f"SELECT {picked} FROM added0)")
    return text(f"WITH {', '.join(parts)} SELECT count(*) FROM added0")  # noqa: S608 - as above
