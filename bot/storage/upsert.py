"""``INSERT ... ON CONFLICT DO NOTHING`` on both databases: the idempotent-create primitive.

Used wherever a row must exist once however many callers race to create it (invoices per
period, outbox messages per purpose, conversations per address).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.models import Base
from bot.storage.uow import UnitOfWork


async def insert_ignore(
    uow: UnitOfWork,
    model: type[Base],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
) -> int | None:
    """Insert a row unless one with the same ``conflict_columns`` exists; the new id, or None."""
    table = cast(Table, model.__table__)
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(table.c.id)
    )
    row = (await uow.session.execute(stmt)).first()
    return None if row is None else int(row[0])


async def insert_ignore_many(
    uow: UnitOfWork,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict_columns: Sequence[str],
    *,
    chunk: int = 500,
) -> int:
    """:func:`insert_ignore` for many rows (all with the same keys), ``chunk`` rows per
    statement; how many were inserted.

    One statement, compiled once, executed with every row's parameters: SQLAlchemy's
    "insertmanyvalues" sends them ``chunk`` at a time as multi-row VALUES. (Building the
    multi-row statement here instead compiled a new statement of thousands of parameters per
    chunk, which took most of a scheduler pass.)
    """
    return len(await insert_ignore_many_returning(
        uow, model, rows, conflict_columns, ["id"], chunk=chunk))


async def insert_ignore_many_returning(
    uow: UnitOfWork,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict_columns: Sequence[str],
    returning: Sequence[str],
    *,
    chunk: int = 500,
) -> list[tuple[Any, ...]]:
    """:func:`insert_ignore_many`, giving the ``returning`` columns of each row inserted."""
    if not rows:
        return []
    table = cast(Table, model.__table__)
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*(table.c[name] for name in returning))
        .execution_options(insertmanyvalues_page_size=chunk)
    )
    result = await uow.session.execute(stmt, [dict(row) for row in rows])
    return [tuple(row) for row in result.all()]
