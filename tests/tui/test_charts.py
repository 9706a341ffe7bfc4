"""The lab's charts as a person reads them: the legend beside, not on, the curves; whole
epochs on the axis; solid lines; the torch twin visible where it coincides; log loss on g."""

from __future__ import annotations

import itertools
import re

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Input, Static
from textual_plotext import PlotextPlot

from tui.app import make_app
from tui.widgets.charts import SERIES_COLOURS, MetricChart, epoch_ticks, log_ticks

SERIES = ("train", "test", "torch train", "torch test")
SIZES = [(80, 24), (120, 36), (200, 50)]


class OneChart(App):
    def __init__(self, series=SERIES) -> None:
        super().__init__()
        self.series = series

    def compose(self) -> ComposeResult:
        yield MetricChart("loss", self.series, id="chart")


def cells(chart: MetricChart) -> list[list[tuple[str, tuple[int, int, int] | None]]]:
    """The plot as drawn: rows of (character, foreground colour)."""
    console = Console(width=chart.plot.size.width, color_system="truecolor")
    text = chart.plot.render()
    rows = []
    for line in text.split("\n"):
        row = []
        for segment in line.render(console):
            colour = segment.style.color if segment.style else None
            triplet = tuple(colour.get_truecolor()) if colour is not None else None
            row.extend((char, triplet) for char in segment.text)
        rows.append(row)
    return rows


def columns_with(chart: MetricChart, colour: tuple[int, int, int]) -> set[int]:
    return {c for row in cells(chart) for c, (_, fg) in enumerate(row) if fg == colour}


def noisy_loss(epochs: int) -> list[float]:
    return [1.0 / (1 + e) + (0.05 if e % 2 else -0.02) / (1 + e) for e in range(1, epochs + 1)]


@pytest.mark.parametrize(
    ("first", "last", "width"),
    [(1, 3, 40), (1, 7, 60), (1, 40, 30), (1, 200, 30), (1, 200, 140), (1, 10_000, 50)],
)
def test_epoch_ticks_are_whole_round_and_spaced(first, last, width):
    ticks = epoch_ticks(first, last, width)
    assert ticks[0] == first and ticks[-1] <= last
    assert all(isinstance(t, int) for t in ticks) and ticks == sorted(set(ticks))
    assert 2 <= len(ticks) <= max(3, width // 8 + 1)
    steps = {b - a for a, b in itertools.pairwise(ticks[1:])}
    assert len(steps) <= 1  # evenly spaced after the first
    assert all(str(s).strip("0") in ("1", "2", "5") for s in steps)


async def test_the_legend_sits_above_the_plot_and_names_every_series():
    app = OneChart()
    async with app.run_test(size=(70, 20)) as pilot:
        chart = app.query_one(MetricChart)
        for epoch, value in enumerate(noisy_loss(60), start=1):
            for name in SERIES:
                chart.add(name, epoch, value * (1.02 if "torch" in name else 1.0))
        chart.redraw()
        await pilot.pause()
        legend = chart.query_one(".chart-legend", Static)
        assert legend.region.bottom <= chart.plot.region.y  # never on the curves
        text = str(legend.render())
        assert text.startswith("loss") and "train" in text and "test" in text
        assert "torch" in text and "gap 2e-02" in text


async def test_x_axis_shows_whole_epochs_only():
    app = OneChart(("train", "test"))
    async with app.run_test(size=(70, 20)) as pilot:
        chart = app.query_one(MetricChart)
        for epoch, value in enumerate(noisy_loss(200), start=1):
            chart.add("train", epoch, value)
        chart.redraw()
        await pilot.pause()
        axis = "".join(char for char, _ in cells(chart)[-1])
        labels = axis.split()
        assert labels[0] == "1" and "200" in labels
        assert all(re.fullmatch(r"\d+", label) for label in labels), axis


async def test_a_noisy_curve_is_a_line_with_no_empty_column():
    app = OneChart(("train", "test"))
    async with app.run_test(size=(70, 20)) as pilot:
        chart = app.query_one(MetricChart)
        for epoch, value in enumerate(noisy_loss(600), start=1):
            chart.add("train", epoch, value)
        chart.redraw()
        await pilot.pause()
        drawn = columns_with(chart, SERIES_COLOURS["train"])
        assert drawn and drawn == set(range(min(drawn), max(drawn) + 1))
        assert max(drawn) - min(drawn) > 50  # across the plot, not a few dots


async def test_the_torch_twin_stays_visible_where_it_coincides_with_minidl():
    app = OneChart()
    async with app.run_test(size=(70, 20)) as pilot:
        chart = app.query_one(MetricChart)
        for epoch, value in enumerate(noisy_loss(100), start=1):
            chart.add("train", epoch, value)
            chart.add("torch train", epoch, value)  # exactly the same numbers
        chart.redraw()
        await pilot.pause()
        mine = columns_with(chart, SERIES_COLOURS["train"])
        theirs = columns_with(chart, SERIES_COLOURS["torch train"])
        assert len(theirs) >= 8 and len(mine) > len(theirs)  # dots along a line
        assert "gap 0" in str(chart.query_one(".chart-legend", Static).render())


@pytest.mark.parametrize("size", SIZES)
async def test_g_switches_the_loss_axis_to_log_and_back(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.query_one("#epochs", Input).value = "30"
        await pilot.pause()
        app.action_train()
        await app.workers.wait_for_complete()
        await pilot.pause()
        chart = app.query_one("#loss-chart", MetricChart)
        app.set_focus(None)
        linear = [row for row in cells(chart)]
        await pilot.press("g")
        assert chart.log_scale
        assert "(log)" in str(chart.query_one(".chart-legend", Static).render())
        assert cells(chart) != linear
        await pilot.press("g")
        assert not chart.log_scale and cells(chart) == linear
        assert not app.query_one("#accuracy-chart", MetricChart).log_scale
        for chart in app.query(MetricChart):  # the legend above the plot at every size
            legend = chart.query_one(".chart-legend", Static)
            assert legend.region.bottom <= chart.query_one(PlotextPlot).region.y


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0012, 0.31, [0.01, 0.1]),
        (0.021, 0.29, [0.05, 0.1, 0.2]),
        (0.0201, 0.0299, [0.0201, 0.0299]),
    ],
)
def test_log_ticks_are_round_values_inside_the_range(low, high, expected):
    assert log_ticks(low, high, 6) == pytest.approx(expected)
    assert len(log_ticks(1e-6, 1.0, 3)) <= 3


async def test_a_log_chart_renders_again_and_again():
    app = OneChart(("train",))
    async with app.run_test(size=(70, 20)) as pilot:
        chart = app.query_one(MetricChart)
        for epoch, value in enumerate(noisy_loss(100), start=1):
            chart.add("train", epoch, value)
        chart.set_log_scale(True)
        await pilot.pause()
        first = cells(chart)
        assert cells(chart) == first  # plotext's own log scale failed on the second build
        labels = [
            "".join(char for char, _ in row[:8]).strip("┤│ ")
            for row in first
            if "┤" in "".join(c for c, _ in row[:9])
        ]
        assert "0.1" in labels and "0.01" in labels, labels
