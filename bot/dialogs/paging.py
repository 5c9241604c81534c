"""Long lists of choices are paged so an SMS reply stays within 3 segments where it can.

A page holds as many options as fit beside the question, then ``0) More``; the numbers go on
from page to page (see :mod:`bot.dialogs.render`). The budget is three SMS segments: 459
characters in GSM-7, 201 when the text needs UCS-2 (letters outside GSM-7, emoji), measured on
the text as it is sent (:func:`bot.dialogs.gsm.to_gsm`). A short list (:data:`NEVER_PAGED`
options or fewer, a confirmation) is never paged: it goes whole, in more messages if it must.
Telegram shows buttons, so it pages by count instead. An option a step must never hide behind
More ("Tell me if something opens") is named in ``Reply.first_page``: it closes the first page.
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
    """Split the question's options into pages; every page but the last ends with More. The
    options ``question.first_page`` names close the first page, whatever its length."""
    kept = [o for o in question.options if o.key in question.first_page]
    options = [o for o in question.options if o.key not in question.first_page]
    if channel == "telegram":
        size, first = TELEGRAM_PAGE, max(TELEGRAM_PAGE - len(kept), 1)
        chunks = [options[:first]]
        chunks += [options[i : i + size] for i in range(first, len(options), size)]
    elif len(question.options) <= NEVER_PAGED:
        chunks = [options]
    else:
        chunks = _by_length(question.text, options, more_label, kept)
    chunks[0] = [*chunks[0], *kept]
    more = Option(MORE_KEY, more_label)
    return [[*chunk, more] if i < len(chunks) - 1 else chunk for i, chunk in enumerate(chunks)]


def _by_length(
    text: str, options: list[Option], more_label: str, kept: list[Option]
) -> list[list[Option]]:
    if _fits(text, [*options, *kept], 1):
        return [options]
    chunks: list[list[Option]] = []
    current: list[Option] = []
    first = 1
    for option in options:
        tail = [] if chunks else kept  # the first page closes with the kept options
        trial = [*current, option, *tail, Option(MORE_KEY, more_label)]
        if current and not _fits(text, trial, first):
            chunks.append(current)
            first += len(current) + len(tail)
            current = [option]
        else:
            current.append(option)
    chunks.append(current)
    return chunks


def _fits(text: str, options: list[Option], first: int) -> bool:
    rendered = to_gsm(text + "\n" + numbered(Reply(text, tuple(options), first_number=first)))
    return len(rendered) <= sms_budget(rendered)


def page_options(
    ctx: DialogContext, question: Reply, page: int
) -> tuple[int, list[Option], int, list[Option]]:
    """The page to show (wrapping to the first after the last), its options, the number of
    its first option, and every option in the order the pages number them."""
    all_pages = pages(question, ctx._("More"), ctx.channel)
    page = page % len(all_pages)
    first = 1 + sum(len(p) - 1 for p in all_pages[:page])  # each earlier page ends with More
    everything = [o for p in all_pages for o in p if o.key != MORE_KEY]
    return page, all_pages[page], first, everything
