"""Plain-text rendering of replies for SMS and the terminal: the text, then ``N) label`` lines."""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialogs.types import Option, Reply


def numbered(options: Sequence[Option]) -> str:
    return "\n".join(f"{number}) {option.label}" for number, option in enumerate(options, 1))


def plain(reply: Reply) -> str:
    """The reply as one text message."""
    if not reply.options:
        return reply.text
    return f"{reply.text}\n{numbered(reply.options)}"
