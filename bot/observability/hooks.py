"""Extension points: what the dialog engine and the delivery pass report, and the no-op default.

The engine (:class:`bot.dialogs.engine.Engine`) reports each turn to a :class:`TurnObserver`;
the delivery pass (:class:`bot.delivery.sender.Deliverer`) reports each outbox row it handled,
and the latency of each message sent, to a :class:`DeliveryObserver`. ``clinicbot serve`` passes
its :class:`bot.observability.metrics.Metrics`; everything else (tests, ``clinicbot chat``,
``clinicbot jobs run``) gets :data:`UNOBSERVED`, which records nothing. Observers must be cheap
and must not raise: they run inside the turn and the pass.

Only labels with a handful of values are passed (channel names, outcomes): never an address,
a phone number or a text.
"""

from __future__ import annotations

from typing import Final, Protocol

# What a dialog turn came to.
ANSWERED: Final = "answered"  # replies were produced (including a rule's refusal, asked again)
OPTED_OUT: Final = "opted_out"  # the patient sent STOP (or the channel said they opted out)
FAILED: Final = "failed"  # an unexpected error: rolled back, the patient got an apology

# What the delivery pass did with one outbox row (the fields of ``DeliveryCounts``).
DELIVERY_RESULTS: Final = ("sent", "held", "skipped", "retried", "failed")
NO_CHANNEL: Final = "none"  # the row never reached a channel (skipped or held before sending)


class TurnObserver(Protocol):
    """Extension point: told about every dialog turn (see the module docstring)."""

    def dialog_turn(self, channel: str, outcome: str, seconds: float) -> None:
        """One turn on ``channel`` ended with ``outcome`` after ``seconds``."""


class DeliveryObserver(Protocol):
    """Extension point: told what the delivery pass did (see the module docstring)."""

    def delivery(self, channel: str, result: str) -> None:
        """One outbox row ended this attempt as ``result`` (one of :data:`DELIVERY_RESULTS`)."""

    def delivery_latency(self, channel: str, seconds: float) -> None:
        """A message went out on ``channel`` ``seconds`` after it was due."""


class Unobserved:
    """The default observer: records nothing."""

    def dialog_turn(self, channel: str, outcome: str, seconds: float) -> None:
        del channel, outcome, seconds

    def delivery(self, channel: str, result: str) -> None:
        del channel, result

    def delivery_latency(self, channel: str, seconds: float) -> None:
        del channel, seconds


UNOBSERVED: Final = Unobserved()
