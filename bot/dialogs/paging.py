"""Long lists of choices are paged so an SMS reply stays within 3 segments where it can.

A page holds as many options as fit beside the question, then ``0) More``; the numbers go on
from page to page (see :mod:`bot.dialogs.render`). The budget is three SMS segments: 459
characters in GSM-7, 201 when the text needs UCS-2 (letters outside GSM-7, emoji), measured on
the text as it is sent (:func:`bot.dialogs.gsm.to_gsm`). A short list (:data:`NEVER_PAGED`
options or fewer, a confirmation) is never paged: it goes whole, in more messages if it must.
Telegram shows buttons, so it pages by count instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialogs.gsm import GSM7, is_gsm7, to_gsm
from bot.dialogs.render import numbered
from bot.dialogs.types import MORE_KEY, Option, Reply

if TYPE_CHECKING:
    from bot.dialogs.base import DialogContext

__all__ = ["GSM7", "MORE_KEY", "page_options", "pages", "sms_budget"]
TELEGRAM_PAGE = 10
NEVER_PAGED = 4


def sms_budget(text: str) -> int:
    """Characters that fit in three SMS segments for this text's encoding."""
    return 3 * 153 if is_gsm7(text) else 3 * 67


def pages(question: Reply, more_label: str, channel: str) -> list[list[Option]]:
    """Split the question's options into pages; every page but the last ends with More."""
    options = list(question.options)
    if channel == "telegram":
        size = TELEGRAM_PAGE
        chunks = [options[i : i + size] for i in range(0, len(options), size)] or [[]]
    elif len(options) <= NEVER_PAGED:
        chunks = [options]
    else:
        chunks = _by_length(question.text, options, more_label)
    more = Option(MORE_KEY, more_label)
    return [[*chunk, more] if i < len(chunks) - 1 else chunk for i, chunk in enumerate(chunks)]


def _by_length(text: str, options: list[Option], more_label: str) -> list[list[Option]]:
    if _fits(text, options, 1):
        return [options]
    chunks: list[list[Option]] = []
    current: list[Option] = []
    first = 1
    for option in options:
        trial = [*current, option, Option(MORE_KEY, more_label)]
        if current and not _fits(text, trial, first):
            chunks.append(current)
            first += len(current)
            current = [option]
        else:
            current.append(option)
    chunks.append(current)
    return chunks


def _fits(text: str, options: list[Option], first: int) -> bool:
    rendered = to_gsm(text + "\n" + numbered(Reply(text, tuple(options), first_number=first)))
    return len(rendered) <= sms_budget(rendered)


def page_options(ctx: DialogContext, question: Reply, page: int) -> tuple[int, list[Option], int]:
    """The page to show (wrapping to the first after the last), its options, and the number
    of its first option."""
    all_pages = pages(question, ctx._("More"), ctx.channel)
    page = page % len(all_pages)
    first = 1 + sum(len(p) - 1 for p in all_pages[:page])  # each earlier page ends with More
    return page, all_pages[page], first
