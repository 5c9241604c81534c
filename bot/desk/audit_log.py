"""``/desk/audit`` (managers): the audit log of staff actions, newest first, a page at a time.

Reads :func:`bot.services.audit.entries` like ``clinicbot report audit``: who (staff key and
the face used: console, CLI, Telegram), what (the action and its ids), when (clinic time), and
the money and uses it changed -- each figure that differs between the entry's ``before`` and
``after``, amounts in the staff locale. Filters: ``?staff=KEY`` and ``?action=NAME``;
``?after=TOKEN`` is the next page (:func:`bot.services.audit.page_token`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.web import MANAGERS, desk_of, desk_page, render
from bot.services import audit, desk_auth
from bot.services.errors import DomainError
from bot.storage.models import AuditEntry

PATH = "/desk/audit"
PAGE_SIZE = 50
AMOUNTS = frozenset({"price", "collected", "refunded", "amount", "paid", "credit"})
SKIPPED = frozenset({"currency", "patient_id"})


@dataclass(frozen=True)
class Change:
    """One figure an action changed: ``what`` (e.g. ``package 3 collected``), before, after."""

    what: str
    field: str
    before: Any
    after: Any


def _flat(figures: dict[str, Any]) -> dict[tuple[str, str], Any]:
    flat: dict[tuple[str, str], Any] = {}
    for key, value in (figures or {}).items():
        if isinstance(value, dict):
            flat.update({(key, field): v for field, v in value.items() if field not in SKIPPED})
        elif key not in SKIPPED:
            flat[("", key)] = value
    return flat


def changes(entry: AuditEntry) -> list[Change]:
    """The figures that differ between the entry's ``before`` and ``after``, in order."""
    before, after = _flat(entry.before), _flat(entry.after)
    found = []
    for key in dict.fromkeys([*before, *after]):
        if before.get(key) != after.get(key):
            subject, field = key
            found.append(Change(f"{subject} {field}".strip(), field, before.get(key),
                                after.get(key)))
    return found


def _figure(value: Any, field: str, money: Any) -> str:
    if value is None:
        return "-"
    if field in AMOUNTS and isinstance(value, int):
        return str(money(Decimal(value) / 100))
    return str(value)


@desk_page(roles=MANAGERS)
async def audit_log(request: Request) -> Response:
    """The log, newest first; filter by staff member and action."""
    desk = desk_of(request)
    staff = request.query_params.get("staff", "").strip()[:64] or None
    action = request.query_params.get("action", "").strip()[:64] or None
    token = request.query_params.get("after") or None
    error = None
    async with desk.uow(readonly=True) as uow:
        filters = audit.Filters(staff=staff, action=action)
        try:
            after = audit.parse_page_token(token) if token else None
        except DomainError as exc:
            after, error = None, desk.t.error_text(exc)
        page = await audit.entries(uow, filters, after=after, limit=PAGE_SIZE)
        members = await desk_auth.roster(uow)
        kept = {k: v for k, v in (("staff", staff), ("action", action)) if v}
        more = (f"{PATH}?{urlencode({**kept, 'after': audit.page_token(page.after)})}"
                if page.after else None)
        first = f"{PATH}?{urlencode(kept)}" if token else None
        return render(request, "audit.html", status_code=400 if error else 200,
                      entries=[(e, changes(e)) for e in page.entries], members=members,
                      staff=staff or "", action=action or "", more=more, first=first,
                      error=error, figure=_figure)


ROUTES = [Route(PATH, audit_log, methods=["GET"])]
