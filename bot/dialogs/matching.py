"""Understanding an answer: a number, a key, or words from an option's label.

Matching ignores case, accents, punctuation and extra spaces, so ``"physio 5"``, ``"PHYSIO-5"``
and ``"2"`` all pick "Physio 5-pack" when it is option 2.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.dialogs.types import Option

MAX_ANSWER_CHARS = 500
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text with single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(plain))


def clean(text: str) -> str:
    """Text with control characters removed, trimmed, at most MAX_ANSWER_CHARS long."""
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:MAX_ANSWER_CHARS]


def match_option(answer: str, options: Sequence[Option]) -> Option | None:
    """The one option ``answer`` designates, or None when it designates none or several."""
    answer = clean(answer)
    if not answer or not options:
        return None
    stripped = answer.strip().rstrip(").")
    if stripped.isdecimal():
        index = int(stripped)
        return options[index - 1] if 1 <= index <= len(options) else None
    for option in options:
        if option.key == answer:
            return option
    words = fold(answer).split()
    if not words:
        return None
    exact = [o for o in options if fold(o.label) == " ".join(words)]
    if len(exact) == 1:
        return exact[0]
    found = [o for o in options if _contains_all(fold(o.label).split(), words)]
    return found[0] if len(found) == 1 else None


def _contains_all(label_words: list[str], words: list[str]) -> bool:
    return all(any(lw.startswith(w) for lw in label_words) for w in words)
