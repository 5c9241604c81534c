"""What flows between channels and dialogs: an inbound message, and replies with options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Option:
    """A choice: the dialog receives ``key`` (Telegram callback data); ``label`` is shown."""

    key: str
    label: str


MORE_KEY = "more"


@dataclass(frozen=True)
class Reply:
    """One message to the patient: text, and the choices it offers (possibly none).

    ``first_number``: the number of the first option shown; a later page of a long list goes
    on from the page before (8 options on page 1: page 2 starts at 9), and More is 0.
    ``first_page``: keys of options shown on the first page however long the list (they close
    it; see :mod:`bot.dialogs.paging`).
    """

    text: str
    options: tuple[Option, ...] = ()
    request_contact: bool = False
    first_number: int = 1
    first_page: tuple[str, ...] = ()

    def numbers(self) -> list[int]:
        """The number each option is shown with (More: 0)."""
        numbers, following = [], self.first_number
        for option in self.options:
            if option.key == MORE_KEY:
                numbers.append(0)
            else:
                numbers.append(following)
                following += 1
        return numbers


@dataclass(frozen=True)
class Inbound:
    """One thing the patient did: typed ``text`` or pressed the option ``choice``.

    ``channel`` + ``address`` identify the conversation (``sms``/``+1416...``,
    ``telegram``/chat id, ``terminal``/phone). ``phone`` is a number the channel *proves* the
    sender owns (the SMS sender, a Telegram contact shared by its own user); dialogs never trust
    a phone typed in the text.
    """

    channel: str
    address: str
    text: str = ""
    choice: str | None = None
    phone: str | None = None
    telegram_user_id: int | None = None
    language_code: str | None = None
    opt_out: bool = False


@dataclass
class Outcome:
    """What the engine sends back for one inbound message (``effects``: see base.Effect).

    ``failed``: the turn failed and was rolled back; ``replies`` is an apology."""

    replies: list[Reply] = field(default_factory=list)
    opted_out: bool = False
    effects: list[Any] = field(default_factory=list)
    failed: bool = False
