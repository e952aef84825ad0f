"""Chart geometry for the dashboard's SVGs: numbers in, coordinates out, nothing drawn here.

Each chart keeps the numbers it was drawn from, so the page's text alternative shows exactly them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Sparkline:
    values: tuple[int, ...]
    points: str  # an SVG polyline's points
    width: int
    height: int


def sparkline(values: Sequence[int], width: int = 120, height: int = 28) -> Sparkline:
    top = max(max(values, default=0), 1)
    step = width / max(len(values) - 1, 1)
    pad = 2
    points = " ".join(
        f"{i * step:.1f},{pad + (height - 2 * pad) * (1 - v / top):.1f}" for i, v in enumerate(values)
    )
    return Sparkline(tuple(values), points, width, height)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    top: float  # the value a full-height bar stands for


def bar_chart(
    labelled: Sequence[tuple[str, float]], width: int = 600, height: int = 120, gap: float = 2.0
) -> BarChart:
    top = max(max((v for _, v in labelled), default=0.0), 1.0)
    slot = width / max(len(labelled), 1)
    bars = tuple(
        Bar(label, value, i * slot + gap / 2, height - height * value / top, slot - gap, height * value / top)
        for i, (label, value) in enumerate(labelled)
    )
    return BarChart(bars, width, height, top)


@dataclass(frozen=True, slots=True)
class PairedBar:
    """Committed beside completed, for one sprint of the velocity chart."""

    label: str
    committed: float
    completed: float
    x: float
    committed_y: float
    completed_y: float
    bar_width: float


@dataclass(frozen=True, slots=True)
class VelocityChart:
    sprints: tuple[PairedBar, ...]
    width: int
    height: int
    unit: str  # "points" or "issues"


def velocity_chart(
    sprints: Sequence[tuple[str, float, float]], unit: str, width: int = 600, height: int = 140
) -> VelocityChart:
    top = max(max((max(c, d) for _, c, d in sprints), default=0.0), 1.0)
    slot = width / max(len(sprints), 1)
    bar = min(max(slot / 2 - 4, 1.0), 60.0)  # one sprint alone must not fill the chart
    paired = tuple(
        PairedBar(
            name,
            committed,
            completed,
            i * slot + 2,
            height * (1 - committed / top),
            height * (1 - completed / top),
            bar,
        )
        for i, (name, committed, completed) in enumerate(sprints)
    )
    return VelocityChart(paired, width, height, unit)


@dataclass(frozen=True, slots=True)
class BurnDay:
    day: date
    done: float
    committed: float


@dataclass(frozen=True, slots=True)
class Marker:
    day: date
    title: str
    x: float


@dataclass(frozen=True, slots=True)
class BurnUp:
    days: tuple[BurnDay, ...]
    done_points: str
    committed_points: str
    markers: tuple[Marker, ...]
    width: int
    height: int
    top: float


def burn_up(
    days: Sequence[BurnDay], markers: Sequence[tuple[date, str]], width: int = 600, height: int = 160
) -> BurnUp:
    """Done against committed, one point per sprint day; each milestone a vertical mark on its day."""
    top = max(max((max(d.done, d.committed) for d in days), default=0.0), 1.0)
    step = width / max(len(days) - 1, 1)
    index = {d.day: i for i, d in enumerate(days)}

    def line(values: Sequence[float]) -> str:
        return " ".join(f"{i * step:.1f},{height * (1 - v / top):.1f}" for i, v in enumerate(values))

    placed = tuple(Marker(day, title, index[day] * step) for day, title in markers if day in index)
    return BurnUp(
        tuple(days),
        line([d.done for d in days]),
        line([d.committed for d in days]),
        placed,
        width,
        height,
        top,
    )
