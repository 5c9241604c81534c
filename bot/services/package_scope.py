"""What a package covers: its fees, and the practitioners and locations it is limited to.

A package's scope is copied from its template when it is sold (or from the source package when
uses are transferred) and never changes afterwards. Booking consults it at almost every step,
so it is read here as plain ids, all three lists in one query, instead of loading the fee,
practitioner and location rows behind the package's relationships (which are ``lazy="raise"``
for that reason: code that needs the rows loads them on purpose). The names and details of
those fees, practitioners and locations come from :mod:`bot.services.clinic_setup`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, bindparam, literal, select, union_all

from bot.storage.hot import Hot
from bot.storage.models.packages import package_fee, package_location, package_practitioner
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class PackageScope:
    """The fees a package covers; its practitioners and locations (empty: any, RULES.md 2)."""

    fee_ids: frozenset[int] = frozenset()  # none: covers nothing
    practitioner_ids: frozenset[int] = frozenset()  # none listed: any practitioner
    location_ids: frozenset[int] = frozenset()  # none listed: any location

    def covers_fee(self, fee_id: int) -> bool:
        return fee_id in self.fee_ids

    def covers_practitioner(self, practitioner_id: int) -> bool:
        return not self.practitioner_ids or practitioner_id in self.practitioner_ids

    def covers_location(self, location_id: int) -> bool:
        return not self.location_ids or location_id in self.location_ids


def _links(kind: str, table: Table, column: str, *, one: bool) -> Select[Any]:
    package_id = table.c.patient_package_id
    return select(literal(kind).label("kind"), package_id.label("package_id"),
                  table.c[column].label("other_id")
                  ).where(package_id == bindparam("package") if one
                          else package_id.in_(bindparam("package_ids", expanding=True)))


def _scopes(*, one: bool) -> Any:
    return union_all(
        _links("fee", package_fee, "fee_id", one=one),
        _links("practitioner", package_practitioner, "practitioner_id", one=one),
        _links("location", package_location, "location_id", one=one),
    )


# One prebuilt statement (SQLAlchemy compiles and caches it once) for any number of packages,
# and one for a single package (what booking asks at almost every step) run on the driver
# (bot.storage.hot: no expanding list of ids, so compiled once for good).
SCOPES = _scopes(one=False)
SCOPE = Hot(_scopes(one=True))


async def scopes_of(uow: UnitOfWork, package_ids: Iterable[int]) -> dict[int, PackageScope]:
    """The scope of each of ``package_ids`` (a package that does not exist: an empty scope)."""
    wanted = sorted(set(package_ids))
    if not wanted:
        return {}

    async def lookup() -> dict[int, PackageScope]:
        found: dict[int, dict[str, set[int]]] = {
            package_id: {"fee": set(), "practitioner": set(), "location": set()}
            for package_id in wanted
        }
        if len(wanted) == 1:
            await uow.flush_pending()  # as the session's query would (a package just sold)
            rows: Iterable[Sequence[Any]] = await SCOPE.rows(uow, {"package": wanted[0]})
        else:
            rows = (await uow.session.execute(SCOPES, {"package_ids": wanted})).tuples()
        for kind, package_id, other_id in rows:
            found[package_id][kind].add(other_id)
        return {
            package_id: PackageScope(frozenset(ids["fee"]), frozenset(ids["practitioner"]),
                                     frozenset(ids["location"]))
            for package_id, ids in found.items()
        }

    return await uow.remember(("package scopes", tuple(wanted)), lookup, until_write=True)


async def scope_of(uow: UnitOfWork, package_id: int) -> PackageScope:
    """The scope of one package (see :func:`scopes_of`)."""
    return (await scopes_of(uow, [package_id]))[package_id]
