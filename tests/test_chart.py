"""The weekly chart: counting per week, and a small fixed-size PNG that renders Cyrillic."""

from __future__ import annotations

import gc
import struct
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import pytest

from bot.digest.chart import last_week_starts, render_weekly_chart, weekly_series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEEKS = last_week_starts(date(2026, 3, 4))  # Mondays 2026-01-12 .. 2026-03-02
LABELS = {
    "R1": "R1 — Санкцыі і ўзаемадзеянне",
    "R2": "R2 — Политзаключённые",
    "R3": "R3: engagement",
    "sanctions": "Санкции",
    "political_prisoners": "Палітвязні",
}


def _png_size(png: bytes) -> tuple[int, int]:
    # The IHDR chunk comes first: 4-byte length, b"IHDR", then width and height (big-endian).
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _series(keys: list[str]) -> dict[str, list[int]]:
    return {
        key: [(n * 7 + week * 3) % 11 for week in range(len(WEEKS))] for n, key in enumerate(keys)
    }


def _render_strictly(counts: dict[str, list[int]], labels: dict[str, str], title: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render_weekly_chart(counts, labels, WEEKS, title)


def test_last_week_starts_are_eight_mondays_ending_with_this_week() -> None:
    starts = last_week_starts(date(2026, 3, 4))  # a Wednesday
    assert len(starts) == 8
    assert all(day.weekday() == 0 for day in starts)
    assert starts[-1] == date(2026, 3, 2)
    assert starts[0] == date(2026, 1, 12)
    assert starts == sorted(starts)


def test_last_week_starts_on_monday_sunday_and_across_the_year() -> None:
    assert last_week_starts(date(2026, 3, 2), weeks=1) == [date(2026, 3, 2)]
    assert last_week_starts(date(2026, 3, 8), weeks=1) == [date(2026, 3, 2)]
    assert last_week_starts(date(2027, 1, 2), weeks=3) == [
        date(2026, 12, 14),
        date(2026, 12, 21),
        date(2026, 12, 28),
    ]


def test_last_week_starts_rejects_no_weeks() -> None:
    with pytest.raises(ValueError, match="weeks"):
        last_week_starts(date(2026, 3, 4), weeks=0)


def test_weekly_series_counts_per_key_and_week() -> None:
    rows = [
        (date(2026, 3, 2), "R1"),  # Monday of the last week
        (date(2026, 3, 8), "R1"),  # Sunday of the last week
        (date(2026, 1, 12), "R1"),  # Monday of the first week
        (date(2026, 1, 18), "sanctions"),  # Sunday of the first week
        (date(2026, 2, 4), "sanctions"),
        (date(2026, 2, 5), "sanctions"),
        (date(2026, 2, 5), "R3"),
    ]
    assert weekly_series(rows, WEEKS) == {
        "R1": [1, 0, 0, 0, 0, 0, 0, 2],
        "R3": [0, 0, 0, 1, 0, 0, 0, 0],
        "sanctions": [1, 0, 0, 2, 0, 0, 0, 0],
    }


def test_weekly_series_ignores_dates_outside_the_weeks() -> None:
    rows = [
        (date(2026, 1, 11), "R1"),  # the Sunday before the first week
        (date(2026, 3, 9), "R1"),  # the Monday after the last week
        (date(2025, 3, 4), "R2"),
        (date(2026, 3, 3), "R2"),
    ]
    assert weekly_series(rows, WEEKS) == {"R2": [0, 0, 0, 0, 0, 0, 0, 1]}


def test_weekly_series_of_no_rows_is_empty() -> None:
    assert weekly_series([], WEEKS) == {}
    assert weekly_series([(date(2026, 3, 4), "R1")], []) == {}


def test_weekly_series_rejects_unordered_weeks() -> None:
    with pytest.raises(ValueError, match="increasing"):
        weekly_series([], list(reversed(WEEKS)))


def test_chart_is_a_1000_by_600_png_under_200_kb() -> None:
    png = render_weekly_chart(_series(list(LABELS)), LABELS, WEEKS, "Matches per week")
    assert _png_size(png) == (1000, 600)
    assert len(png) < 200_000


def test_chart_with_many_series_and_large_counts_stays_small() -> None:
    keys = [f"theme_{n}" for n in range(14)]
    counts = {key: [n * 1000 + week for week in range(len(WEEKS))] for n, key in enumerate(keys)}
    png = render_weekly_chart(counts, {}, WEEKS, "Many themes")
    assert _png_size(png) == (1000, 600)
    assert len(png) < 200_000


def test_empty_data_still_renders() -> None:
    assert _png_size(_render_strictly({}, {}, "Нічога не знойдзена")) == (1000, 600)
    zeros = {"R1": [0] * len(WEEKS)}
    assert _png_size(_render_strictly(zeros, LABELS, "Zero")) == (1000, 600)


def test_cyrillic_labels_and_title_render_without_missing_glyphs() -> None:
    png = _render_strictly(_series(list(LABELS)), LABELS, "Матчы па тыднях — ўсе тэмы")
    assert _png_size(png) == (1000, 600)


def test_missing_glyph_check_does_detect_a_missing_glyph() -> None:
    # Guards the test above: DejaVu Sans has no CJK, so this must warn.
    with pytest.warns(UserWarning, match="missing from font"):
        render_weekly_chart(_series(["R1"]), {"R1": "制裁"}, WEEKS, "R1")


def test_chart_is_deterministic() -> None:
    counts = _series(list(LABELS))
    first = render_weekly_chart(counts, LABELS, WEEKS, "Same")
    assert render_weekly_chart(counts, LABELS, WEEKS, "Same") == first


def test_series_length_must_match_the_weeks() -> None:
    with pytest.raises(ValueError, match="'R1' has 3 counts for 8 weeks"):
        render_weekly_chart({"R1": [1, 2, 3]}, LABELS, WEEKS, "Bad")


def test_many_renders_leave_no_figures_behind() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    def live_figures() -> int:
        gc.collect()
        return sum(isinstance(obj, Figure) for obj in gc.get_objects())

    counts = _series(list(LABELS))
    before = live_figures()  # other tests in the session may hold figures of their own
    for _ in range(25):
        render_weekly_chart(counts, LABELS, WEEKS, "Again")
    assert plt.get_fignums() == []
    assert live_figures() <= before


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, bot.digest.chart; sys.exit('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
