"""The unit of work: one transaction, committed only when asked, rolled back otherwise.

Services take a :class:`UnitOfWork` and do everything inside ``async with uow:``; they call
``await uow.commit()`` when the change is complete. Leaving the block without committing (or
with an exception) rolls everything back, so nothing is ever half-written.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock


class UnitOfWork:
    """Extension point: a transaction over the clinic's data, with the clock services use.

    ``readonly=True`` opens SQLite's transaction DEFERRED so views never queue behind writers.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock | None = None,
        *,
        readonly: bool = False,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.readonly = readonly
        self._factory = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def __aenter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        self._session = self._factory()
        if self.readonly and self.dialect == "sqlite":
            await self._session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    def fresh(self, *, readonly: bool = False) -> UnitOfWork:
        """A new unit of work on the same engine and clock (for a separate transaction)."""
        return UnitOfWork(self.engine, self.clock, readonly=readonly)
