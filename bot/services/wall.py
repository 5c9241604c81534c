"""Writing a moment as the clinic's wall-clock time, the way the desk types it (RULES.md 21).

``YYYY-MM-DD HH:MM`` in the clinic's zone, with the UTC offset added only when the clocks show
that wall time twice (the hour they fall back), so the text always names one moment and can be
typed back into ``clinicbot staff ... --at``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def offset_text(offset: timedelta | None) -> str:
    """``-05:00``; empty for None."""
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def wall_text(moment: datetime, zone: tzinfo | None) -> str:
    """``2026-12-08 10:00`` in ``zone``; None (no zone known): ``2026-12-08 15:00 UTC``."""
    if zone is None:
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    local = moment.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M")
    other = local.replace(fold=1 - local.fold)  # the same wall time on the other side of a shift
    if other.utcoffset() != local.utcoffset():  # it happens twice: say which
        text += " " + offset_text(local.utcoffset())
    return text
