"""Bar charts for the console's reports, drawn on the server as inline SVG (no JavaScript).

:func:`bar_chart` turns labelled values (one series or several) into a :class:`Chart`: each
bar's place and length in SVG units, and the texts to show; the template ``chart.html`` draws
it (autoescaped) with a ``<title>`` and a ``<desc>`` listing every value, so a screen reader
reads the same figures the bars show. Bars are horizontal, so long labels stay readable and the
chart is never wider than its 640-unit view box (it scales down to the page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 110
BAR_HEIGHT = 16
GAP = 8
TOP = 8
LABEL_LENGTH = 28
MAX_BARS = 20

Number = int | Decimal


@dataclass(frozen=True)
class Bar:
    """One bar: its series (0, 1, ...), where it is drawn, and its value as text."""

    series: int
    y: int
    length: int
    value_text: str


@dataclass(frozen=True)
class Group:
    """A label and its bars (one per series)."""

    label: str
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    """A chart ready to draw: ``description`` is its text alternative."""

    title: str
    series: list[str]
    groups: list[Group]
    height: int
    description: str
    left_out: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def bar_x(self) -> int:
        return self.label_width


def _short(label: str) -> str:
    return label if len(label) <= LABEL_LENGTH else label[:LABEL_LENGTH - 1] + "…"


def bar_chart(title: str, rows: Sequence[tuple[str, Sequence[Number]]],
              text: Callable[[Number], str], series: Sequence[str] = ()) -> Chart:
    """A chart of ``rows`` (label, one value per series), the first :data:`MAX_BARS` labels;
    ``text`` writes a value (an amount in the staff locale, a count)."""
    shown = list(rows)[:MAX_BARS]
    largest = max((v for _, values in shown for v in values), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    per_group = max(1, max((len(values) for _, values in shown), default=1))
    y = TOP
    groups: list[Group] = []
    spoken: list[str] = []
    for label, values in shown:
        bars = []
        for n, value in enumerate(values):
            length = int(span * value / largest) if largest > 0 and value > 0 else 0
            bars.append(Bar(n, y + n * BAR_HEIGHT, length, text(value)))
        groups.append(Group(_short(label), y, bars))
        named = [f"{series[n]} {bar.value_text}" if n < len(series) else bar.value_text
                 for n, bar in enumerate(bars)]
        spoken.append(f"{label}: {', '.join(named)}")
        y += per_group * BAR_HEIGHT + GAP
    return Chart(title, list(series), groups, max(y, TOP + BAR_HEIGHT) + TOP,
                 "; ".join(spoken) + ("." if spoken else ""), max(0, len(rows) - MAX_BARS))
