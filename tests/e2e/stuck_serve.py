"""``clinicbot serve`` whose dialog turns hang: an instance about to die in the middle of a request.

``python -m tests.e2e.stuck_serve MARK`` runs the real server (``clinicbot serve``, configured
by the environment as always), except that each dialog turn, once its message is claimed (inside
the turn's transaction, which holds the claim until it commits), first creates the file MARK (so
the test knows a text is being handled) and then waits, at most :data:`HANG_SECONDS`, before
going on: long enough for the test to kill the process with SIGKILL at a moment it chose.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import main
from bot.dialogs.engine import Engine

HANG_SECONDS = 120


def hang_every_turn(mark: Path) -> None:
    turn = Engine._turn

    async def stuck(self: Engine, *args: Any, **kwargs: Any) -> Any:
        await asyncio.to_thread(mark.touch)
        await asyncio.sleep(HANG_SECONDS)
        return await turn(self, *args, **kwargs)

    Engine._turn = stuck  # type: ignore[method-assign]


if __name__ == "__main__":
    hang_every_turn(Path(sys.argv[1]))
    sys.argv = ["clinicbot", "serve"]
    main()
