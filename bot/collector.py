"""Python's garbage collector set for long work: ``clinicbot serve`` and a scheduler pass.

:func:`tuned` is what both run under (issue 15):

* Objects that exist when it starts (modules, the app, the engine, the clinic's set-up) are
  frozen out of the collector's reach (``gc.freeze``): a full collection then walks only what
  requests and sweeps made since, and stalls the event loop far less.
* The youngest generation is collected every :data:`YOUNG_OBJECTS` new objects instead of
  Python's 700. At 700 it was collected several times per SMS webhook (about a tenth of its
  CPU), and a scheduler pass over 200,000 memberships, which makes millions of short-lived rows
  and tuples, spent a fifth of its CPU in the collector; at 20,000 it runs every few dozen
  messages, at no measurable cost in memory.

When it ends, the old threshold is back. The frozen objects stay frozen: they mostly live as
long as the process, and unfreezing them would make the next full collection walk them all
again. (A process that serves many times over, as the test suite does, unfroze everything at
each stop: the next start's collection held its event loop for a second.)
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_OBJECTS = 20_000  # the youngest generation's threshold under tuned()


@contextlib.contextmanager
def tuned() -> Iterator[None]:
    """Run the block with the collector set for long work (see the module docstring)."""
    young, *older = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(young, YOUNG_OBJECTS), *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)
