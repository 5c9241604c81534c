"""The reports' bar charts: lengths proportional to the largest value, zero and negative
values drawn empty, long labels shortened, the text alternative naming every value."""

from __future__ import annotations

from decimal import Decimal

from bot.desk.charts import LABEL_WIDTH, MAX_BARS, VALUE_WIDTH, WIDTH, bar_chart


def test_bars_are_proportional_and_described() -> None:
    chart = bar_chart("Sales", [("Physio", [Decimal(400), Decimal(200)]),
                                ("Massage", [Decimal(100), Decimal(0)])],
                      lambda v: f"{v:.2f}", ["Price", "Collected"])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    assert [[b.length for b in g.bars] for g in chart.groups] == [[span, span // 2],
                                                                   [span // 4, 0]]
    assert chart.description == ("Physio: Price 400.00, Collected 200.00; "
                                 "Massage: Price 100.00, Collected 0.00.")
    assert chart.groups[1].y > chart.groups[0].bars[1].y and chart.left_out == 0


def test_nothing_to_draw_long_labels_and_too_many_bars() -> None:
    assert bar_chart("Empty", [], str).groups == []
    many = bar_chart("Many", [("x" * 40 + str(n), [n - 1]) for n in range(MAX_BARS + 3)], str)
    assert len(many.groups) == MAX_BARS and many.left_out == 3
    assert many.groups[0].label.endswith("…") and len(many.groups[0].label) == 28
    assert all(b.length >= 0 for g in many.groups for b in g.bars)
