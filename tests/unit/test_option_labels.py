"""No choice the bot offers, in any shipped language, contains an opt-out word (issue 16, 1).

A patient answers with words from a label; Twilio (and the engine) treat a text that is just
CANCEL, QUIT, END, STOP... as opting out. So every label literal given to ``Option`` under
``bot/`` (and the paging "More") is translated into each shipped language and its words checked
against :data:`bot.dialogs.keywords.STOP`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.dialogs import keywords
from bot.dialogs.matching import fold
from bot.dialogs.parts import PARTS, part_label
from bot.i18n import SHIPPED, language_name, translator

BOT = Path(__file__).resolve().parents[2] / "bot"
GETTEXT_NAMES = {"_", "gettext"}


def option_label_msgids() -> set[str]:
    """The msgid of every ``Option(key, _("label"))`` in the package."""
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and _name(node.func) == "Option"):
                continue
            label = node.args[1] if len(node.args) > 1 else None
            if isinstance(label, ast.Call) and _name(label.func) in GETTEXT_NAMES:
                first = label.args[0] if label.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def opt_out_words(label: str) -> set[str]:
    folded = fold(label)
    words = set(folded.split())
    return {w for w in keywords.STOP if w in words or (" " in w and w in folded)}


def test_the_scan_finds_the_labels():
    msgids = option_label_msgids()
    assert {"Call it off", "Yes, call it off", "Book an appointment", "Confirm"} <= msgids
    assert len(msgids) > 25


def test_the_check_catches_an_opt_out_word():
    assert opt_out_words("Cancel it") == {"cancel"}
    assert opt_out_words("Yes, QUIT now") == {"quit"}
    assert opt_out_words("Call it off") == set()


@pytest.mark.parametrize("language", SHIPPED)
def test_no_option_label_holds_an_opt_out_word(language):
    t = translator(language)
    labels = {t.gettext(msgid) for msgid in option_label_msgids()}
    labels |= {t.gettext("More")} | {language_name(code) for code in SHIPPED}
    ctx = SimpleNamespace(_=t.gettext)
    labels |= {part_label(ctx, part, first, last)  # type: ignore[arg-type]
               for part in PARTS for first, last in (("9:00", "9:00"), ("9:00", "11:45"))}
    offending = {label: opt_out_words(label) for label in labels if opt_out_words(label)}
    assert offending == {}
