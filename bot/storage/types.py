"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`UTCDateTime` stores aware UTC moments (``timestamptz`` on PostgreSQL, naive UTC text on
  SQLite) and always hands back aware UTC datetimes.
* :class:`Money` stores exact amounts as integer cents and hands back ``Decimal`` with two places,
  so no float ever touches money and SQLite needs no Decimal emulation.

What the columns hold bounds what may be typed or loaded: :data:`MAX_ID` (integer primary keys
are 32-bit on PostgreSQL), :data:`MAX_AMOUNT` (money is 64-bit cents; the limit is far below it
so that sums of many amounts still fit) and :data:`MAX_USES` (a package's uses, 32-bit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
MAX_ID = 2**31 - 1
MAX_AMOUNT = Decimal("999999999999.99")
MAX_INT64 = 2**63 - 1
MAX_USES = 1000


def to_money(value: Decimal | int | str) -> Decimal:
    """Return ``value`` as a Decimal rounded to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact amount of the clinic's currency, stored as integer cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        cents = to_money(value) * 100
        return int(cents)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)
