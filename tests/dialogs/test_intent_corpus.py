"""The intent corpus: real-sounding requests in en/es/fr (typos included), each with the intent
and slots expected against the talking clinic (tests/dialogs/talking_clinic.py), read on Monday
2 November 2026, 08:00 clinic time. Precision and recall over intents + slots are printed and
must both stay at or above 0.9.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from bot.dialogs.understand import Name, Names, Understood, understand
from tests.dialogs.talking_clinic import talking_clinic_spec

CORPUS = Path(__file__).with_name("intent_corpus.jsonl")
NOW = datetime(2026, 11, 2, 8, 0)
FLOOR = 0.9


def _names() -> tuple[Names, dict[str, dict[int, str]]]:
    """The clinic's names with ids standing for keys (1, 2, ... in file order)."""
    spec = talking_clinic_spec()
    who = {p.key: i for i, p in enumerate(spec.practitioners, 1)}
    names = Names(
        fees=tuple(Name(i, f.name, frozenset(who[k] for k in f.practitioners))
                   for i, f in enumerate(spec.fees, 1)),
        practitioners=tuple(Name(i, p.name) for i, p in enumerate(spec.practitioners, 1)),
        locations=tuple(Name(i, loc.name) for i, loc in enumerate(spec.locations, 1)),
        packages=tuple(Name(i, t.name) for i, t in enumerate(spec.package_templates, 1)),
    )
    keys = {
        "fee": {i: f.key for i, f in enumerate(spec.fees, 1)},
        "practitioner": {i: p.key for i, p in enumerate(spec.practitioners, 1)},
        "location": {i: loc.key for i, loc in enumerate(spec.locations, 1)},
        "package": {i: t.key for i, t in enumerate(spec.package_templates, 1)},
    }
    return names, keys


def _pairs(found: Understood, keys: dict[str, dict[int, str]]) -> set[tuple[str, str]]:
    """What was understood, as (slot, value) pairs comparable with the corpus."""
    pairs = {("intent", found.intent)}
    if found.fee_ids:
        pairs.add(("fee", "|".join(sorted(keys["fee"][i] for i in found.fee_ids))))
    for slot, value in (("practitioner", found.practitioner_id),
                        ("location", found.location_id), ("package", found.package_id)):
        if value is not None:
            pairs.add((slot, keys[slot][value]))
    if found.no_package:
        pairs.add(("no_package", "True"))
    for slot, wanted in (("", found.when), ("from_", found.moving_from)):
        if wanted is None:
            continue
        if wanted.day is not None:
            pairs.add((f"{slot}day" if slot == "" else "from_day", wanted.day.isoformat()))
        if slot == "" and wanted.time is not None:
            pairs.add(("time", wanted.time.strftime("%H:%M")))
        if slot == "" and wanted.part is not None:
            pairs.add(("part", wanted.part))
    return pairs


def _expected(case: dict[str, object]) -> set[tuple[str, str]]:
    pairs = set()
    for slot, value in case.items():
        if slot in ("text", "lang"):
            continue
        pairs.add((slot, "|".join(sorted(str(value).split("|")))))
    return pairs


def _cases() -> list[dict[str, object]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def test_the_corpus_is_large_and_speaks_three_languages():
    cases = _cases()
    assert len(cases) >= 150
    for language in ("en", "es", "fr"):
        assert sum(case["lang"] == language for case in cases) >= 40
    intents = {case["intent"] for case in cases}
    assert intents == {"book", "reschedule", "cancel", "packages", "none"}


def test_precision_and_recall_over_intents_and_slots(capsys: pytest.CaptureFixture[str]):
    names, keys = _names()
    true_positive = predicted = expected = 0
    intents_right = 0
    misses: list[str] = []
    cases = _cases()
    for case in cases:
        found = _pairs(understand(str(case["text"]), str(case["lang"]), NOW, names), keys)
        wanted = _expected(case)
        true_positive += len(found & wanted)
        predicted += len(found)
        expected += len(wanted)
        intents_right += ("intent", case["intent"]) in found
        if found != wanted:
            misses.append(f"{case['text']!r}: missed {sorted(wanted - found)}, "
                          f"extra {sorted(found - wanted)}")
    precision, recall = true_positive / predicted, true_positive / expected
    with capsys.disabled():
        print(f"\nintent corpus: {len(cases)} requests, intents right {intents_right}/"
              f"{len(cases)}, precision {precision:.3f}, recall {recall:.3f} over "
              f"{expected} expected intent+slot values")
        for miss in misses:
            print("  " + miss)
    assert precision >= FLOOR, misses
    assert recall >= FLOOR, misses


def test_a_wrong_word_is_not_taken_for_a_name():
    names, _keys = _names()
    found = understand("muy bien, gracias", "es", NOW, names)
    assert found.intent == "none" and not found.anything
