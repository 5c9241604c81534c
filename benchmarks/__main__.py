"""``python -m benchmarks``: build (or reuse) the large clinic, measure, print a table.

    python -m benchmarks [--db sqlite|postgresql|both] [--scale 1.0] [--memberships N]
                         [--only NAME ...] [--rebuild] [--profile NAME]

Measurements (``--only``): availability, dialogs, webhook, scheduler, sweeps, memory and
console (the staff console's pages); they run in that order on a fresh copy of the cached
clinic, per database (the webhook and the sweeps on a copy of their own: a sweep pass would
leave the scheduler's pass nothing to do). The clinic has ``--memberships`` memberships
(default: 50,000 on SQLite and 200,000 on PostgreSQL, times ``--scale``: issue 15's scale for
sweeps). ``--profile NAME`` runs that one measurement under pyinstrument and writes the profile
next to the cache. The exit status is 1 when a figure misses its target, else 0. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks import availability, console, dialogs, memory, scheduler, sweeps, webhook
from benchmarks.build import Scale
from benchmarks.common import Bench, Figure, Sizes
from benchmarks.databases import Cache

Measure = Callable[[Bench], Awaitable[list[Figure]]]
MEASURES: dict[str, Measure] = {
    "availability": availability.measure,
    "dialogs": dialogs.measure,
    "webhook": webhook.measure,
    "scheduler": scheduler.measure,
    "sweeps": sweeps.measure,
    "memory": memory.measure,
    "console": console.measure,
}
KINDS = ("sqlite", "postgresql")
MEMBERSHIPS = {"sqlite": 50_000, "postgresql": 200_000}  # at --scale 1.0 (issue 15)
OWN_COPY = frozenset({"webhook", "sweeps"})


class OneLine(logging.Formatter):
    """Log records without their tracebacks: a failing turn is one line, not a page."""

    def formatException(self, ei: object) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = ""
        text = super().format(record)
        return text + (f" ({record.exc_info[0].__name__})" if record.exc_info and
                       record.exc_info[0] else "")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the clinic's row counts (1.0: 20,000 patients ...)")
    parser.add_argument("--memberships", type=int, metavar="N",
                        help="memberships in the clinic, on every database (default: "
                             "50,000 on SQLite, 200,000 on PostgreSQL, times --scale)")
    parser.add_argument("--only", nargs="+", choices=list(MEASURES), metavar="NAME",
                        help=f"run only these measurements ({', '.join(MEASURES)})")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached clinic")
    parser.add_argument("--profile", choices=list(MEASURES), metavar="NAME",
                        help="profile this measurement with pyinstrument (implies --only NAME)")
    args = parser.parse_args(argv)
    if args.scale <= 0 or not math.isfinite(args.scale):
        parser.error("--scale must be a positive number")
    if args.memberships is not None and not 1 <= args.memberships <= 2_000_000:
        parser.error("--memberships must be between 1 and 2,000,000")
    if args.profile:
        args.only = [args.profile]
    return args


async def run_one(cache: Cache, kind: str, scale: Scale, names: list[str],
                  profile: str | None) -> list[Figure]:
    """Prepare a working copy on ``kind`` and run the measurements ``names`` on it."""
    prepared = await cache.prepare(kind, scale)
    if prepared.build_seconds is None:
        print(f"{kind}: reusing the cached clinic ({_counts(prepared.counts)})", flush=True)
    else:
        print(f"{kind}: built the clinic in {prepared.build_seconds:.1f} s "
              f"({_counts(prepared.counts)})", flush=True)
    bench = Bench(kind, prepared.url, prepared.anchor, Sizes())
    figures: list[Figure] = []
    done = 0
    try:
        for name in names:
            print(f"{kind}: measuring {name} ...", flush=True)
            if name == profile:
                figures.extend(await _profiled(MEASURES[name], bench, cache.directory / (
                    f"profile-{name}-{kind}.html")))
            else:
                try:
                    figures.extend(await _measure(cache, kind, scale, name, bench))
                except Exception as exc:  # one broken measurement must not hide the others
                    print(f"{kind}: {name} failed: {type(exc).__name__}: {exc}", flush=True)
                    figures.append(Figure(f"{name} failed", 1, "", "0", lambda v: v == 0,
                                          f"{type(exc).__name__}: {str(exc)[:200]}"))
            for figure in figures[done:]:
                print(f"{kind}:   {figure.name}: {_value(figure)}", flush=True)
            done = len(figures)
    finally:
        await cache.discard(prepared)
    return figures


async def _measure(cache: Cache, kind: str, scale: Scale, name: str, bench: Bench) -> list[Figure]:
    """``name`` on the run's copy, or on a copy of its own (:data:`OWN_COPY`)."""
    if name not in OWN_COPY:
        return await MEASURES[name](bench)
    own = await cache.prepare(kind, scale, copy=f"_{name}")
    try:
        return await MEASURES[name](Bench(kind, own.url, own.anchor, bench.sizes))
    finally:
        await cache.discard(own)


def scale_for(kind: str, args: argparse.Namespace) -> Scale:
    """The clinic's scale on ``kind`` (its memberships: ``--memberships`` or the default)."""
    members = args.memberships or max(1, round(MEMBERSHIPS[kind] * args.scale))
    return Scale(args.scale, members)


async def _profiled(measure: Measure, bench: Bench, path: Path) -> list[Figure]:
    from pyinstrument import Profiler  # a dev dependency: imported only when profiling

    profiler = Profiler(async_mode="enabled")
    profiler.start()
    try:
        figures = await measure(bench)
    finally:
        profiler.stop()
    path.write_text(profiler.output_html())  # noqa: ASYNC240 - a CLI, not a server
    print(profiler.output_text(unicode=True, color=False, show_all=False)[:6000])
    print(f"profile written to {path}", flush=True)
    return figures


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in counts.items())


def _value(figure: Figure | None) -> str:
    if figure is None:
        return "-"
    if math.isnan(figure.value):
        return "skipped"
    digits = 0 if figure.value >= 100 else 1 if figure.value >= 10 else 2
    return f"{figure.value:,.{digits}f} {figure.unit}"


def table(results: dict[str, list[Figure]]) -> tuple[str, bool]:
    """The printed table, and whether every figure with a target met it."""
    names: list[str] = []
    for figures in results.values():  # a figure one database lacks goes after its neighbour
        for before, figure in zip([None, *figures], figures, strict=False):
            if figure.name not in names:
                at = names.index(before.name) + 1 if before and before.name in names else len(names)
                names.insert(at, figure.name)
    header = ("measure", *KINDS, "target", "pass/fail")
    rows: list[tuple[str, ...]] = []
    details: list[str] = []
    ok = True
    for name in names:
        found = {kind: next((f for f in results.get(kind, []) if f.name == name), None)
                 for kind in KINDS}
        target = next((f.target for f in found.values() if f and f.target), "")
        verdicts = []
        for kind, figure in found.items():
            if figure is not None and figure.passed is not None:
                verdicts.append(f"{kind}: {'pass' if figure.passed else 'FAIL'}")
                ok = ok and bool(figure.passed)
            if figure is not None and figure.detail:
                details.append(f"  {name} ({kind}): {figure.detail}")
        rows.append((name, *(_value(found[k]) for k in KINDS), target, ", ".join(verdicts)))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
             for r in (header, *rows)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join([*lines, "", *details]), ok


async def main(argv: list[str]) -> int:
    args = parse(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(OneLine("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    kinds = list(KINDS) if args.db == "both" else [args.db]
    names = [n for n in MEASURES if not args.only or n in args.only]
    cache = Cache()
    if args.rebuild:
        for kind in kinds:
            await cache.forget(kind, scale_for(kind, args))
    results = {kind: await run_one(cache, kind, scale_for(kind, args), names, args.profile)
               for kind in kinds}
    text, ok = table(results)
    print()
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
