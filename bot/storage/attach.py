"""Rows read by a prebuilt statement, made the session's objects without the ORM's loading.

Loading an object through an ORM query costs several times the statement on the hot path of
every message (the conversation and its patient: :mod:`bot.dialogs.engine`; the menu's wards,
the packages a booking may use). :func:`persistent` takes the row's values as a
:class:`~bot.storage.hot.Hot` statement returned them (converted) and gives back the object the
session holds for that row: the one already in its identity map (as an ORM query would: what
the transaction already loaded wins, its expired attributes loaded from the row), or a new one
set up exactly as if it had been loaded (every column's value committed, nothing pending,
relationships not loaded: ``lazy="raise"`` ones still raise), kept for the unit of work when it
keeps what it loaded. :func:`loaded` does it for every row of a statement, after flushing what
the session holds unwritten (as a query's autoflush would).

It takes the steps SQLAlchemy's own loader takes for a new row (``orm.loading``: the state's
identity key and session, the identity map's ``_add_unpresent``), not
``make_transient_to_detached`` and ``Session.add``, which cost more than the statement: those
steps are SQLAlchemy's internals, stable across the 2.0 series the project pins
(``sqlalchemy<2.1``), and ``tests/integration/test_attach.py`` holds the result to what a query
loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Column, Table, inspect
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import instance_state

from bot.storage.hot import Hot
from bot.storage.uow import KEPT, UnitOfWork


class Columns:
    """A mapped class's table columns in order, and the attribute each one is mapped to."""

    def __init__(self, model: type[Any]) -> None:
        mapper: Mapper[Any] = inspect(model)
        table = cast(Table, mapper.local_table)
        self.model = model
        self.mapper = mapper
        self.columns: tuple[Column[Any], ...] = tuple(table.c)
        self.attributes = tuple(mapper.get_property_by_column(c).key for c in self.columns)
        self.primary_key = tuple(self.columns.index(cast(Column[Any], c))
                                 for c in mapper.primary_key)

    def __len__(self) -> int:
        return len(self.columns)


def persistent(uow: UnitOfWork, columns: Columns, values: Sequence[Any]) -> Any:
    """The session's object for the row ``values`` (in the order of ``columns.columns``)."""
    session = uow.session.sync_session
    key = columns.mapper.identity_key_from_primary_key(
        tuple(values[n] for n in columns.primary_key))
    found = session.identity_map.get(key)
    if found is not None:
        expired = instance_state(found).expired_attributes
        if expired:  # as a query does: what was expired is loaded from the row
            for name, value in zip(columns.attributes, values, strict=True):
                if name in expired:
                    set_committed_value(found, name, value)
        return found
    instance = columns.mapper.class_manager.new_instance()
    instance.__dict__.update(zip(columns.attributes, values, strict=True))
    state = instance_state(instance)  # as orm.loading does for a row not yet in the session
    state.key = key
    state.identity_token = key[2]
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)
    kept = session.info.get(KEPT)
    if kept is not None:
        kept.append(instance)
    return instance


async def loaded(uow: UnitOfWork, statement: Hot, columns: Columns,
                 values: Mapping[str, Any]) -> list[Any]:
    """What ``session.scalars`` of an ORM select of ``columns``' class gives, for ``statement``
    selecting exactly ``columns.columns``: what the session holds unwritten is flushed first
    (as its autoflush would), then each row is the session's object for it."""
    await uow.flush_pending()
    return [persistent(uow, columns, row) for row in await statement.records(uow, values)]


def written(instance: object, names: Iterable[str]) -> None:
    """Take ``instance``'s attributes ``names`` as the database's: a prebuilt statement just
    wrote them, so no flush writes them again (what else changed is still pending).

    When nothing else of it changed, the instance is no longer marked modified either (what a
    flush leaves), so the commit does not run a flush with nothing to write: that costs a
    few percent of a message (``set_committed_value`` clears an attribute's change, not the
    mark, and the session flushes whatever is marked). ``InstanceState._commit_all``, the step
    a flush ends with, is SQLAlchemy's internal, as the loader's steps above."""
    for name in names:
        set_committed_value(instance, name, getattr(instance, name))
    state = instance_state(instance)
    session = object_session(instance)
    if state.modified and not state.committed_state and session is not None:
        state._commit_all(state.dict, session.identity_map)
