"""What every measurement shares: the database it runs on, loop sizes, and figures.

A measurement is a module with ``async def measure(bench: Bench) -> list[Figure]``; the runner
(:mod:`benchmarks.__main__`) calls it once per database and prints its figures as a table.
Every loop a measurement runs is bounded by :class:`Sizes` (fixed counts) or a deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import FixedClock


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does (the defaults are the documented run)."""

    conversations: int = 50
    turns_per_conversation: int = 40
    paced_rate: int = 500
    webhook_patients: int = 30  # simulated SMS patients, each its own From number
    webhook_warmup: int = 150  # requests before a server's first measured run
    capacity_seconds: float = 10.0  # closed-loop runs: this long or capacity_requests
    capacity_requests: int = 100_000
    step_seconds: float = 3.0  # the search for the highest rate with p99 < 100 ms ...
    step_shares: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)  # ... tries these shares of capacity
    webhook_rate: int = 100  # the paced run's offered requests/s ...
    webhook_paced_seconds: float = 30.0  # ... for at least this long ...
    sweep_seconds: float = 60.0  # (serve's CLINICBOT_SWEEP_SECONDS: its first pass then)
    sweep_cover: float | None = 30.0  # ... and until this long after the first sweep began
    webhook_max_paced_seconds: float = 150.0
    availability_runs: int = 50
    delivery_messages: int = 2000
    delivery_seconds: float = 60.0
    provider_round_trip: float = 0.05  # seconds a provider across the internet takes
    memory_requests: int = 1000
    console_runs: int = 30  # each console page, after one warm-up

    @classmethod
    def tiny(cls) -> Sizes:
        """A few of everything: for the smoke test."""
        return cls(conversations=3, turns_per_conversation=8, paced_rate=30,
                   webhook_patients=3, webhook_warmup=3, capacity_seconds=60.0,
                   capacity_requests=12, step_shares=(), webhook_rate=10,
                   webhook_paced_seconds=1.0, sweep_cover=None, availability_runs=3,
                   delivery_messages=5, delivery_seconds=30.0, memory_requests=10,
                   console_runs=2)


@dataclass(frozen=True)
class Bench:
    """One database to measure: ``kind`` sqlite | postgresql, its URL, and the clinic's now."""

    kind: str
    url: str
    anchor: datetime
    sizes: Sizes = field(default_factory=Sizes)

    def clock(self) -> FixedClock:
        return FixedClock(self.anchor)


@dataclass(frozen=True)
class Figure:
    """One measured number. ``target`` is checked by ``meets`` (None: no target).

    ``counts`` are sanity numbers (requests answered, rows created...) for the smoke test.
    """

    name: str
    value: float
    unit: str
    target: str = ""
    meets: Callable[[float], bool] | None = None
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        return None if self.meets is None else self.meets(self.value)


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (``pct`` in 0-100) of ``samples``."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started
