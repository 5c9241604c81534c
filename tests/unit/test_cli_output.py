"""bot/cli/output.render: tables align (numbers right, text left) and CSV quotes what it must."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from bot.cli.output import render


def test_a_table_aligns_text_left_and_numbers_right() -> None:
    rows = [[1, "Maya Chen", Decimal("400.00")], [12, "Leo", Decimal("9.50")]]
    lines = render(["id", "name", "amount"], rows).splitlines()
    assert lines == [
        "id  name       amount",
        "--  ---------  ------",
        " 1  Maya Chen  400.00",
        "12  Leo          9.50",
    ]


def test_an_empty_table_says_none() -> None:
    assert render(["id", "name"], []).splitlines()[-1] == "(none)"


def test_csv_quotes_commas_and_quotes_and_writes_iso_dates() -> None:
    rows = [[3, 'Ramírez, "Sofía"', date(2026, 11, 2), Decimal("49.00"), None]]
    text = render(["id", "name", "due", "amount", "note"], rows, "csv")
    assert text.splitlines()[1] == '3,"Ramírez, ""Sofía""",2026-11-02,49.00,'
    assert list(csv.reader(io.StringIO(text)))[1][1] == 'Ramírez, "Sofía"'


def test_csv_text_that_starts_like_a_formula_is_prefixed_and_numbers_stay_numbers() -> None:
    risky = ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    rows: list[list[str | int | Decimal | None]] = [
        [text, Decimal("-20.00"), -3, "Maya =x", None] for text in risky
    ]
    text = render(["name", "amount", "n", "note", "x"], rows, "csv")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[0] for row in parsed[1:]] == ["'" + text for text in risky]
    assert all(row[1:] == ["-20.00", "-3", "Maya =x", ""] for row in parsed[1:])
