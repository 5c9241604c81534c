"""Bounded pieces for sweeps over many rows: no statement grows its parameters with the data.

A sweep walks the rows it has to look at in chunks (:func:`chunk_size`: 250 rows on PostgreSQL,
100 on SQLite), each chunk its own short transaction (``UnitOfWork.checkpoint``), so a pass over
200,000 memberships never holds a lock, a transaction or the event loop for long, and no query
carries more than a chunk's worth of parameters (PostgreSQL refuses more than 32,767).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

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
