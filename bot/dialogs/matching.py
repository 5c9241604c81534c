"""Understanding an answer: a number, a key, or words from an option's label.

Matching ignores case, accents, punctuation and extra spaces, so ``"physio 5"``, ``"PHYSIO-5"``
and ``"2"`` all pick "Physio 5-pack" when it is option 2. Yes, no and more are understood by
what they mean in any shipped language (``"sí"``, ``"Oui"``, ``"no"``, ``"más"``): they pick the
option whose key has that role (:data:`ROLE_KEYS`), before words from labels are tried.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.dialogs import keywords
from bot.dialogs.types import Option

MAX_ANSWER_CHARS = 500
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Option keys by role: "yes" confirms (book, cancel, move, register), "buy" confirms a purchase.
ROLE_KEYS: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (keywords.YES, frozenset({"yes", "buy"})),
    (keywords.NO, frozenset({"no"})),
    (keywords.MORE, frozenset({"more"})),
)


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
    by_role = match_role(" ".join(words), options)
    if by_role is not None:
        return by_role
    exact = [o for o in options if fold(o.label) == " ".join(words)]
    if len(exact) == 1:
        return exact[0]
    found = [o for o in options if _contains_all(fold(o.label).split(), words)]
    return found[0] if len(found) == 1 else None


def _contains_all(label_words: list[str], words: list[str]) -> bool:
    return all(any(lw.startswith(w) for lw in label_words) for w in words)


def match_role(folded: str, options: Sequence[Option]) -> Option | None:
    """The one option a yes/no/more answer (already folded) picks, or None."""
    for words, keys in ROLE_KEYS:
        if folded in words or all(word in words for word in folded.split()):
            found = [o for o in options if o.key in keys]
            return found[0] if len(found) == 1 else None
    return None
