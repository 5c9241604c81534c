"""Recording inbox items (issue 17): one per patient message or staff alert, once.

Kept apart from :mod:`bot.services.inbox` (the desk's actions) so that
:mod:`bot.services.outbox`, which records an item for every staff alert it queues, can use it
without an import cycle. An item's ``key`` is the alert's outbox purpose without its
``:staff:<id>`` part, so an alert sent to five staff chats is one item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.storage.models import InboxItem
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore, insert_ignore_many

STAFF_PART = ":staff:"


def item_key(purpose: str) -> str:
    """The inbox key of an outbox purpose: ``noshow:4:staff:2`` -> ``noshow:4``."""
    head, found, tail = purpose.rpartition(STAFF_PART)
    return head if found and tail.isdecimal() else purpose


def _patient(params: Mapping[str, object]) -> int | None:
    value = params.get("patient_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def record(
    uow: UnitOfWork, *, key: str, kind: str, params: dict[str, object],
    text: str | None = None, channel: str | None = None,
) -> int | None:
    """Add the item ``key`` unless it exists; its new id, or None when it was there already."""
    return await insert_ignore(uow, InboxItem, {
        "key": key, "kind": kind, "patient_id": _patient(params), "channel": channel,
        "text": text, "params": params, "created_at": uow.clock.now(),
    }, ["key"])


async def record_alerts(uow: UnitOfWork, alerts: list[tuple[str, str, dict[str, object]]]) -> int:
    """:func:`record` for many (key, kind, params) alerts at once; how many were new."""
    return await insert_ignore_many(uow, InboxItem, alert_rows(uow, alerts), ["key"])


def alert_rows(
    uow: UnitOfWork, alerts: list[tuple[str, str, dict[str, object]]]
) -> list[dict[str, object]]:
    """The inbox rows :func:`record_alerts` inserts (one per key), for a sweep that inserts
    them with its other writes (:func:`bot.services.sweep_writes.insert_and_move`)."""
    now = uow.clock.now()
    rows: dict[str, dict[str, object]] = {}
    for key, kind, params in alerts:
        rows.setdefault(key, {
            "key": key, "kind": kind, "patient_id": _patient(params), "channel": None,
            "text": None, "params": params, "created_at": now, "handled_at": None,
            "handled_by": None,
        })
    return list(rows.values())


async def record_staff_rows(uow: UnitOfWork, rows: Sequence[Mapping[str, object]]) -> int:
    """Record an item for each staff alert among outbox rows (``purpose``, ``kind``,
    ``params``, ``staff_id``) about to be queued; rows for patients are left alone."""
    alerts = []
    for row in rows:
        if row.get("staff_id") is None:
            continue
        params = row.get("params")
        alerts.append((item_key(str(row["purpose"])), str(row["kind"]),
                       dict(params) if isinstance(params, Mapping) else {}))
    return await record_alerts(uow, alerts) if alerts else 0
