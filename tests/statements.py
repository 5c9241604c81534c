"""Counting what reaches the database: ``with statements(engine) as seen: ...``.

Tests that promise "one query" or "no SAVEPOINT" record the SQL an engine runs inside a block
(SQLAlchemy's ``before_cursor_execute`` event, removed again when the block ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` runs inside the block, in order (the list fills as they
    run; clear it to start counting afresh)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
