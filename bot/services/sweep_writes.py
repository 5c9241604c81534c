"""A sweep chunk's writes in one statement: its rows inserted and its cursors moved (issue 15).

:func:`insert_and_move` is what each chunk of :func:`bot.services.sweeping.walk` writes: on
PostgreSQL one data-modifying statement over arrays (compiled and prepared once whatever the
chunk, one round trip), on SQLite the insert and then the cursor update.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Dialect, Table, TextClause, text

from bot.services.sweeping import move_cursors, unnest_update
from bot.storage.models import Base
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore_many


async def insert_and_move(
    uow: UnitOfWork,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    cursors: tuple[Table, str, Sequence[tuple[int, date | None]]],
) -> int:
    """A chunk's writes: insert ``rows`` into ``table`` unless their ``conflict`` columns
    exist (ON CONFLICT DO NOTHING) and move ``cursors`` (a table, its cursor column, and each
    (id, cursor) of the chunk); how many rows were inserted.

    On PostgreSQL one statement does both (a data-modifying CTE over one array per column, see
    :func:`_unnest_insert`: compiled and prepared once however many rows, one round trip); on
    SQLite the insert, then :func:`move_cursors`."""
    cursor_table, name, moved = cursors
    if uow.dialect != "postgresql" or not rows:
        created = await insert_ignore_many(uow, model, rows, conflict)
        await move_cursors(uow, cursor_table, name, moved)
        return created
    table = cast(Table, model.__table__)
    columns, arrays = _columns(uow, table, rows)
    stmt = _unnest_insert(uow.engine.dialect, table, columns, tuple(conflict), cursor_table.name,
                          cursor_table.c[name].name)
    params: dict[str, Any] = {f"c{n}": array for n, array in enumerate(arrays)}
    params["ids"] = [ident for ident, _ in moved]
    params["cursors"] = [cursor for _, cursor in moved]
    return int((await uow.session.execute(stmt, params)).scalar_one())


def _columns(
    uow: UnitOfWork, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The columns ``rows`` set (with any scalar default the rows leave out) and one array of
    bound values per column, through each column type's own bind processing. A column with a
    computed default must be given: an insert over arrays never calls it."""
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
        arrays.append([process(v) for v in values] if process else values)
    return names, arrays


@functools.lru_cache(maxsize=32)
def _unnest_insert(
    dialect: Dialect, table: Table, columns: tuple[str, ...], conflict: tuple[str, ...],
    cursor_table: str, cursor_column: str,
) -> TextClause:
    """``INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING`` with
    the cursor update of :func:`bot.services.sweeping.unnest_update` in the same statement;
    counts the inserted rows (constant names from the models, never from data)."""
    arrays = ", ".join(
        f"CAST(:c{n} AS {table.c[name].type.compile(dialect=dialect)}[])"
        for n, name in enumerate(columns))
    return text(
        f"WITH moved AS ({unnest_update(cursor_table, cursor_column).text}), "  # noqa: S608 - model names only
        f"added AS (INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING 1) "
        "SELECT count(*) FROM added")
