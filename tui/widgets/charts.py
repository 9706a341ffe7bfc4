"""Live plotext charts of one or more series against epochs.

Each chart is a one-line legend (its title, a key to the series, the largest
gap between minidl and its PyTorch twin) above a plotext plot, so the legend
never covers a curve. minidl's series are drawn as lines; the twin's as
dots on top of them, in paler colours of the same hues, so that where the
two coincide (they should) both stay visible.
"""

from __future__ import annotations

import itertools
import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

# a terminal shows at most two points per column (half blocks); drawing more costs time
MAX_DRAWN_POINTS = 400
TORCH_DOT_SPACING = 4  # columns between two dots of a twin's curve

Colour = tuple[int, int, int]
# by metric: train in blue, test in orange; the twin's in paler versions of the same
SERIES_COLOURS: dict[str, Colour] = {
    "train": (80, 150, 255),
    "test": (255, 150, 40),
    "torch train": (190, 220, 255),
    "torch test": (255, 220, 170),
}
FALLBACK_COLOUR: Colour = (200, 200, 200)
NICE_STEPS = (1, 2, 5)
# a title as it shows when the whole legend would not fit on one line
SHORT_TITLES = {"accuracy": "acc."}


def epoch_ticks(first: int, last: int, width: int) -> list[int]:
    """Whole epochs from ``first`` to ``last`` for an axis ``width`` columns wide: a step of
    1, 2 or 5 × 10ⁿ with at least 8 columns between two labels, the first epoch shown."""
    if last <= first:
        return [first]
    most = max(2, width // 8)
    step = 1
    for scale in (10**n for n in range(10)):
        step = next((s * scale for s in NICE_STEPS if (last - first) / (s * scale) < most), 0)
        if step:
            break
    ticks = [first, *range((first // step + 1) * step, last + 1, step)]
    if len(ticks) > 1 and ticks[1] - first < step / 2:  # too close to the first label
        del ticks[1]
    return ticks


def log_ticks(low: float, high: float, most: int) -> list[float]:
    """Round values between ``low`` and ``high`` (both > 0) for a logarithmic axis: the
    first of 10ⁿ, 1-2-5 × 10ⁿ or every digit × 10ⁿ that gives two ticks, thinned to at
    most ``most`` (at least 2); the ends themselves when none does."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    ticks: list[float] = []
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        ticks = [
            m * 10.0**k
            for k in range(first, last + 1)
            for m in mantissas
            if low <= m * 10.0**k <= high
        ]
        if len(ticks) >= 2:
            break
    if len(ticks) < 2:
        ticks = [low, high]
    step = -(-len(ticks) // max(2, most))
    return ticks[::step]


def linear_ticks(low: float, high: float, most: int) -> list[float]:
    """Evenly spaced round values between ``low`` and ``high``: multiples of the smallest
    step of 1, 2 or 5 × 10ⁿ that gives at most ``most`` of them (plotext's own labels
    are the data's range cut in equal parts: 0.282, 0.239, 0.153…)."""
    if not high > low:
        return [low]
    most = max(2, most)
    exponent = math.floor(math.log10((high - low) / most))
    for scale in (10.0**k for k in range(exponent - 1, exponent + 3)):
        for mantissa in NICE_STEPS:
            step = mantissa * scale
            digits = max(0, -math.floor(math.log10(step)) + 1)
            ticks = [
                round(k * step, digits)
                for k in range(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1)
            ]
            if len(ticks) <= most:
                return ticks if len(ticks) >= 2 else [low, high]
    return [low, high]


def _tick_label(value: float, ticks: list[float]) -> str:
    """Every label of an axis with as many decimals as its step needs: 0.05, 0.10, 0.15."""
    step = min((b - a for a, b in itertools.pairwise(ticks)), default=0)
    digits = max(0, -math.floor(math.log10(step))) if step > 0 else 3
    if step > 0 and round(step, digits) != round(step, digits + 1):
        digits += 1
    return f"{value:.{digits}f}"


def _rgb(colour: Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


class MetricChart(Vertical):
    """A line chart of named series; ``redraw`` draws what ``add`` collected.

    Points are collected on every epoch and drawn only by ``redraw``, which
    the app calls from a timer a few times per second, so drawing never
    keeps up with training at the expense of training.
    """

    DEFAULT_CSS = """
    MetricChart { width: 1fr; height: 1fr; }
    MetricChart > .chart-legend { height: auto; }
    MetricChart > PlotextPlot { height: 1fr; }
    """

    def __init__(self, title: str, series: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.series_names = series
        self.points: dict[str, list[tuple[int, float]]] = {name: [] for name in series}
        self.log_scale = False
        self.legend_lines = 1
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield Static(self.legend(), classes="chart-legend", markup=False)
        yield PlotextPlot()

    @property
    def plot(self) -> PlotextPlot:
        return self.query_one(PlotextPlot)

    def add(self, name: str, epoch: int, value: float) -> None:
        self.points[name].append((epoch, value))
        self._dirty = True

    def clear(self) -> None:
        for values in self.points.values():
            values.clear()
        self._dirty = True

    def set_title(self, title: str) -> None:
        """Name the chart by what it plots (accuracy, or R² for a regression)."""
        if title != self.title:
            self.title = title
            self._dirty = True
            self.redraw()

    def point_count(self, name: str) -> int:
        return len(self.points[name])

    def set_log_scale(self, on: bool) -> None:
        """A logarithmic value axis (for losses spanning decades)."""
        self.log_scale = on
        self._dirty = True
        self.redraw()

    def largest_gap(self) -> float | None:
        """The largest relative difference between a series and its ``torch`` twin at the
        same epoch; None without twin points."""
        gaps = []
        for name in self.series_names:
            twin = dict(self.points.get(f"torch {name}", []))
            for epoch, value in self.points[name]:
                if epoch in twin:
                    theirs = twin[epoch]
                    gaps.append(abs(value - theirs) / abs(theirs) if theirs else abs(value))
        return max(gaps) if gaps else None

    def legend(self, width: int | None = None) -> Text:
        """The title, a key for every series with points, the twin's gap, the scale;
        wrapped between entries (never inside one) to lines of ``width``, with a shorter
        title where that saves a line."""
        text = self._legend(self.title, width)
        short = SHORT_TITLES.get(self.title)
        if short is not None and len(text.split()) > 1:
            shorter = self._legend(short, width)
            if len(shorter.split()) < len(text.split()):
                return shorter
        return text

    def _legend(self, title: str, width: int | None) -> Text:
        # styles on spans, never a Text's own style, which would colour what joins it
        entries = [Text.assemble((title, "bold"))]
        mine = [n for n in self.series_names if not n.startswith("torch ") and self.points[n]]
        theirs = [n for n in self.series_names if n.startswith("torch ") and self.points[n]]
        for name in mine:
            entries.append(
                Text.assemble(("━ ", _rgb(SERIES_COLOURS.get(name, FALLBACK_COLOUR))), name)
            )
        if theirs:
            entry = Text()
            for name in theirs:
                entry.append("•", style=_rgb(SERIES_COLOURS.get(name, FALLBACK_COLOUR)))
            entry.append(" torch")
            entries.append(entry)
            gap = self.largest_gap()
            if gap is not None:
                entries.append(Text.assemble((f"gap {gap:.0e}" if gap else "gap 0", "dim")))
        if self.log_scale:
            entries.append(Text.assemble(("(log)", "dim")))
        lines: list[Text] = []
        for entry in entries:
            if lines and (width is None or len(lines[-1]) + 1 + len(entry) <= width):
                lines[-1].append(" ")
                lines[-1].append_text(entry)
            else:
                lines.append(entry)
        text = Text("\n").join(lines)
        text.no_wrap = True
        text.overflow = "crop"
        return text

    def _align_legends(self) -> None:
        """Every chart beside this one gets as many legend lines as the tallest legend, so
        their plots start on the same row."""
        charts = [c for c in self.parent.children if isinstance(c, MetricChart)] if (
            self.parent is not None
        ) else [self]
        lines = max(chart.legend_lines for chart in charts)
        for chart in charts:
            chart.query_one(".chart-legend", Static).styles.height = lines

    def on_resize(self) -> None:
        self._dirty = True
        self.redraw()

    def redraw(self) -> None:
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        legend = self.legend(self.size.width)
        self.legend_lines = len(legend.split())
        self.query_one(".chart-legend", Static).update(legend)
        self._align_legends()
        plot = self.plot
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        width = max(1, plot.size.width - 8)  # less the value axis' labels
        # plotext's own log scale takes the logarithm again at every build (that is,
        # every render): the chart plots log10 of the values and labels the axis itself
        log = self.log_scale
        drawn: list[float] = []
        first, last = None, 0
        # minidl's lines first, then the twin's dots on top of them
        ordered = sorted(self.series_names, key=lambda name: name.startswith("torch "))
        for name in ordered:
            values = [
                (e, v) for e, v in self.points[name] if math.isfinite(v) and (v > 0 or not log)
            ]
            if not values:
                continue
            first = values[0][0] if first is None else min(first, values[0][0])
            last = max(last, values[-1][0])
            twin = name.startswith("torch ")
            values = _thin(
                values,
                max(2, width // TORCH_DOT_SPACING) if twin else min(MAX_DRAWN_POINTS, 2 * width),
            )
            epochs = [e for e, _ in values]
            ys = [math.log10(v) if log else v for _, v in values]
            drawn += ys
            colour = SERIES_COLOURS.get(name, FALLBACK_COLOUR)
            if twin:
                plt.scatter(epochs, ys, marker="•", color=colour)
            else:
                plt.plot(epochs, ys, marker="hd", color=colour)
        if first is not None:
            ticks = epoch_ticks(first, last, width)
            plt.xticks(ticks, [str(t) for t in ticks])
        if log and drawn:
            ticks = log_ticks(10 ** min(drawn), 10 ** max(drawn), plot.size.height // 2)
            plt.yticks([math.log10(t) for t in ticks], [f"{t:.3g}" for t in ticks])
        elif drawn:
            ticks = linear_ticks(min(drawn), max(drawn), max(2, (plot.size.height - 2) // 2))
            plt.yticks(ticks, [_tick_label(t, ticks) for t in ticks])
        plot.refresh()


def _thin(values: list[tuple[int, float]], most: int) -> list[tuple[int, float]]:
    """At most about ``most`` points, evenly spaced, the last one always kept."""
    if len(values) <= most:
        return values
    step = -(-len(values) // most)
    return values[::step] + ([values[-1]] if (len(values) - 1) % step else [])
