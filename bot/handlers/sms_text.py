"""SMS text: how many segments a message costs, and splitting long replies into messages.

A message in the GSM-7 alphabet takes 160 characters in one segment, 153 per segment when
concatenated (``^{}\\[~]|€`` count twice); anything else (most accents, emoji) is sent as UCS-2:
70 UTF-16 units in one segment, 67 per segment. Each message we send stays within
:data:`MAX_SEGMENTS`: a long reply is split at line breaks, never inside a ``N) label`` line,
and only a single line too long on its own is cut, at spaces where it can be.
"""

from __future__ import annotations

import math

from bot.dialogs.paging import GSM7

MAX_SEGMENTS = 3
GSM7_EXTENSION = frozenset("^{}\\[~]|€")


def is_gsm7(text: str) -> bool:
    """True when ``text`` can be sent in the GSM-7 alphabet."""
    return set(text) <= GSM7


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes."""
    if is_gsm7(text):
        units = len(text) + sum(1 for char in text if char in GSM7_EXTENSION)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def fits(text: str) -> bool:
    """True when ``text`` is one message of at most :data:`MAX_SEGMENTS` segments."""
    return segments(text) <= MAX_SEGMENTS


def split(text: str) -> list[str]:
    """``text`` as messages of at most :data:`MAX_SEGMENTS` segments each (none when blank)."""
    text = text.strip()
    if not text:
        return []
    if fits(text):
        return [text]
    pieces: list[str] = []
    for line in text.split("\n"):
        pieces.extend([line] if fits(line) else _cut(line))
    messages: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and not fits("\n".join([*current, piece]).strip()):
            messages.append("\n".join(current).strip())
            current = []
        if current or piece.strip():
            current.append(piece)
    if current:
        messages.append("\n".join(current).strip())
    return [message for message in messages if message]


def _cut(line: str) -> list[str]:
    """A line too long for one message, cut at spaces (inside a word only if it must be)."""
    parts: list[str] = []
    current = ""
    for word in line.split(" "):
        trial = f"{current} {word}" if current else word
        if fits(trial):
            current = trial
            continue
        if current:
            parts.append(current)
        current = word
        while not fits(current):
            head = _longest_fitting_prefix(current)
            parts.append(head)
            current = current[len(head) :]
    if current:
        parts.append(current)
    return parts


def _longest_fitting_prefix(text: str) -> str:
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    return text[:low]
