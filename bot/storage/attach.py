"""Rows read by a prebuilt statement, made the session's objects without the ORM's loading.

Loading an object through an ORM query costs several times the statement on the hot path of
every message (the conversation and its patient: :mod:`bot.dialogs.engine`). :func:`persistent`
takes the row's values as a :class:`~bot.storage.hot.Hot` statement returned them (converted)
and gives back the object the session holds for that row: the one already in its identity map
(as an ORM query would: what the transaction already loaded wins), or a new one set up exactly as
if it had been loaded (every column's value committed, nothing pending, relationships not loaded:
``lazy="raise"`` ones still raise), kept for the unit of work when it keeps what it loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Column, Table, inspect
from sqlalchemy.orm import Mapper, make_transient_to_detached

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
        return found
    instance = columns.mapper.class_manager.new_instance()
    instance.__dict__.update(zip(columns.attributes, values, strict=True))
    make_transient_to_detached(instance)
    session.add(instance)
    kept = session.info.get(KEPT)
    if kept is not None:
        kept.append(instance)
    return instance
