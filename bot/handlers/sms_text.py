"""SMS text: how many segments a message costs, and splitting long replies into messages.

A message in the GSM-7 alphabet takes 160 characters in one segment, 153 per segment when
concatenated (``^{}\\[~]|€`` count twice); anything else (most accents, emoji) is sent as UCS-2:
70 UTF-16 units in one segment, 67 per segment. Each message we send stays within
:data:`MAX_SEGMENTS`: a long reply is split between paragraphs first, then at line breaks, never
inside a ``N) label`` line, and only a single line too long on its own is cut, at spaces where
it can be. Typographic characters are written in GSM-7 (:mod:`bot.dialogs.gsm`) so a reply
does not turn UCS-2 for a no-break space.
"""

from __future__ import annotations

import math

from bot.dialogs.gsm import is_gsm7, to_gsm

__all__ = ["MAX_SEGMENTS", "fits", "is_gsm7", "segments", "split"]
MAX_SEGMENTS = 3
GSM7_EXTENSION = frozenset("^{}\\[~]|€")


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
    """``text`` as messages of at most :data:`MAX_SEGMENTS` segments each (none when blank),
    typographic characters written in GSM-7 first (:func:`bot.dialogs.gsm.to_gsm`). Paragraphs
    (blank-line separated: a note, then the question) are kept whole where they fit, so a
    question and its choices arrive in one message."""
    text = to_gsm(text).strip()
    if not text:
        return []
    if fits(text):
        return [text]
    messages: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        trial = f"{current}\n\n{paragraph}" if current else paragraph
        if fits(trial):
            current = trial
            continue
        if current:
            messages.append(current)
        parts = [paragraph] if fits(paragraph) else _by_lines(paragraph)
        messages.extend(parts[:-1])
        current = parts[-1] if parts else ""
    if current:
        messages.append(current)
    return [message.strip() for message in messages if message.strip()]


def _by_lines(text: str) -> list[str]:
    """A paragraph too long for one message, split at line breaks (long lines cut)."""
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
