"""The weekly chart: matched items per recommendation and theme over the last ISO weeks.

matplotlib is imported inside render_weekly_chart only, so the bot pays its import cost
(about a third of a second) when a chart is drawn, not at start-up or in the CLI.
"""

from __future__ import annotations

import io
import itertools
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

WIDTH_PX = 1000
HEIGHT_PX = 600
DPI = 100
_WEEK = timedelta(days=7)
# Lines with markers rather than grouped bars: 8 weeks x 6+ series of bars are slivers on a
# phone, while lines keep each series' trend readable. Markers and dashes tell series apart
# beyond the ten colours and for colour-blind readers.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_DASHES = ("-", "--", "-.", ":")
_STYLE: dict[RcKeyType, Any] = {
    # DejaVu Sans ships with matplotlib and covers Latin and Cyrillic (Belarusian ў and і
    # included). Pinned so a system font configuration cannot swap in a font without them.
    "font.family": "DejaVu Sans",
    "font.size": 14,
    "axes.titlesize": 18,
    "legend.fontsize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def last_week_starts(today: date, weeks: int = 8) -> list[date]:
    """The Mondays of the last `weeks` ISO weeks, oldest first, ending with today's week."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    monday = today - timedelta(days=today.weekday())
    return [monday - _WEEK * back for back in range(weeks - 1, -1, -1)]


def weekly_series(
    rows: Iterable[tuple[date, str]], week_starts: Sequence[date]
) -> dict[str, list[int]]:
    """Per-key counts per week from (local date, key) rows; dates outside the weeks are ignored.

    Keys appear in sorted order ("R1", "R2", "R3" before lower-case theme ids) and only if at
    least one of their rows falls inside the weeks; each list has one count per week start.
    """
    starts = list(week_starts)
    if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
        raise ValueError("week_starts must be strictly increasing")
    counts: dict[str, list[int]] = {}
    for day, key in rows:
        index = bisect_right(starts, day) - 1
        if index < 0 or day >= starts[index] + _WEEK:
            continue
        counts.setdefault(key, [0] * len(starts))[index] += 1
    return {key: counts[key] for key in sorted(counts)}


def render_weekly_chart(
    counts: Mapping[str, Sequence[int]],
    labels: Mapping[str, str],
    week_starts: Sequence[date],
    title: str,
) -> bytes:
    """A 1000x600 PNG line chart of counts per series key over the given weeks."""
    for key, values in counts.items():
        if len(values) != len(week_starts):
            raise ValueError(
                f"series {key!r} has {len(values)} counts for {len(week_starts)} weeks"
            )
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure on an Agg canvas, never pyplot: the figure is not registered in pyplot's
    # global figure manager, so nothing needs closing and nothing leaks over many calls, no
    # GUI backend is ever touched, and the process-wide backend choice is left alone.
    with mpl.rc_context(_STYLE):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)  # attaches itself as figure.canvas: savefig renders with Agg
        axes = figure.add_subplot()
        _plot(axes, counts, labels, len(week_starts))
        _style_axes(axes, counts, week_starts, title)
        if counts:
            figure.legend(loc="outside lower center", ncols=min(len(counts), 4), frameon=False)
        buffer = io.BytesIO()
        # No "Software" text chunk: the bytes then depend on the data, not the version.
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _plot(
    axes: Axes, counts: Mapping[str, Sequence[int]], labels: Mapping[str, str], weeks: int
) -> None:
    positions = list(range(weeks))
    for number, (key, values) in enumerate(counts.items()):
        axes.plot(
            positions,
            list(values),
            label=labels.get(key, key),
            marker=_MARKERS[number % len(_MARKERS)],
            linestyle=_DASHES[(number // 10) % len(_DASHES)],
            linewidth=2.5,
            markersize=8,
            clip_on=False,  # a zero count's marker sits on the x axis, not half cut off
        )


def _style_axes(
    axes: Axes, counts: Mapping[str, Sequence[int]], week_starts: Sequence[date], title: str
) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(title)
    # Day.month: the usual short date in Belarus, and no month names to translate.
    axes.set_xticks(range(len(week_starts)), [f"{day:%d.%m}" for day in week_starts])
    if week_starts:
        axes.set_xlim(-0.3, len(week_starts) - 0.7)
    highest = max((max(values, default=0) for values in counts.values()), default=0)
    # Counts are whole items; without an upper margin of at least 1 an empty chart has a
    # degenerate y range and a flat series sits on the top edge.
    axes.set_ylim(0, max(highest * 1.1, highest + 1, 1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
