"""Long lists of choices are paged so an SMS reply stays within 3 segments where it can.

A page holds as many options as fit beside the question, then ``N) More``. The budget is three
SMS segments: 459 characters in GSM-7, 201 when the text needs UCS-2 (accents outside GSM-7,
emoji). Telegram shows buttons, so it pages by count instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialogs.render import numbered
from bot.dialogs.types import Option, Reply

if TYPE_CHECKING:
    from bot.dialogs.base import DialogContext

MORE_KEY = "more"
TELEGRAM_PAGE = 10
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def sms_budget(text: str) -> int:
    """Characters that fit in three SMS segments for this text's encoding."""
    return 3 * 153 if set(text) <= GSM7 else 3 * 67


def pages(question: Reply, more_label: str, channel: str) -> list[list[Option]]:
    """Split the question's options into pages; every page but the last ends with More."""
    options = list(question.options)
    if channel == "telegram":
        size = TELEGRAM_PAGE
        chunks = [options[i : i + size] for i in range(0, len(options), size)] or [[]]
    else:
        chunks = _by_length(question.text, options, more_label)
    more = Option(MORE_KEY, more_label)
    return [[*chunk, more] if i < len(chunks) - 1 else chunk for i, chunk in enumerate(chunks)]


def _by_length(text: str, options: list[Option], more_label: str) -> list[list[Option]]:
    if _fits(text, options):
        return [options]
    chunks: list[list[Option]] = []
    current: list[Option] = []
    for option in options:
        trial = [*current, option, Option(MORE_KEY, more_label)]
        if current and not _fits(text, trial):
            chunks.append(current)
            current = [option]
        else:
            current.append(option)
    chunks.append(current)
    return chunks


def _fits(text: str, options: list[Option]) -> bool:
    rendered = text + "\n" + numbered(options)
    return len(rendered) <= sms_budget(rendered)


def page_options(ctx: DialogContext, question: Reply, page: int) -> tuple[int, list[Option]]:
    """The page to show (wrapping to the first after the last) and its options."""
    all_pages = pages(question, ctx._("More"), ctx.channel)
    page = page % len(all_pages)
    return page, all_pages[page]
