"""What a channel adapter raises when it cannot deliver a message (DESIGN.md, outbox).

The delivery loop (:mod:`bot.delivery.sender`) decides what happens next from the class alone:

* :class:`TransientError` -- try again later (the provider is down, rate-limited, timed out).
  ``retry_after`` (seconds) is the provider's own hint, if it gave one; the loop waits at least
  that long, else its exponential backoff, and gives up after a bounded number of attempts.
* :class:`PermanentError` -- the provider refused this message for good (bad number, blocked
  bot): the message is marked failed at once and staff are told.
* :class:`OptedOut` -- the recipient unsubscribed at the provider (Twilio error 21610): they are
  opted out here too and the message is skipped, never retried.

Messages carry no recipient data (no phone number, no text): they end up in logs and in the
outbox's ``last_error``.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A channel could not deliver a message."""


class TransientError(DeliveryError):
    """Worth retrying later; ``retry_after``: seconds the provider asked us to wait, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Refused for good: do not retry."""


class OptedOut(DeliveryError):
    """The recipient unsubscribed at the provider: never send them proactive messages again."""
