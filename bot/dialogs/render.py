"""Plain-text rendering of replies for SMS and the terminal: the text, then ``N) label`` lines.

Numbers go on across the pages of a long list (page 2 starts where page 1 stopped) and More is
``0)``, so a number means the same choice on every page of a step.
"""

from __future__ import annotations

from bot.dialogs.types import Reply


def numbered(reply: Reply) -> str:
    return "\n".join(
        f"{number}) {option.label}"
        for number, option in zip(reply.numbers(), reply.options, strict=True)
    )


def plain(reply: Reply) -> str:
    """The reply as one text message."""
    if not reply.options:
        return reply.text
    return f"{reply.text}\n{numbered(reply)}"
