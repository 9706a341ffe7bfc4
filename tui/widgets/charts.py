"""Live plotext charts of one or more series against epochs."""

from __future__ import annotations

from textual_plotext import PlotextPlot

MAX_DRAWN_POINTS = 150

# minidl's series in blue and cyan, the PyTorch twin's in orange and red
SERIES_COLOURS = ("blue+", "cyan+", "orange+", "red+")


class MetricChart(PlotextPlot):
    """A line chart of named series; ``redraw`` draws what ``add`` collected.

    Points are collected on every epoch and drawn only by ``redraw``, which
    the app calls from a timer a few times per second, so drawing never
    keeps up with training at the expense of training.
    """

    def __init__(self, title: str, series: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.series_names = series
        self.points: dict[str, list[tuple[int, float]]] = {name: [] for name in series}
        self._dirty = True

    def add(self, name: str, epoch: int, value: float) -> None:
        self.points[name].append((epoch, value))
        self._dirty = True

    def clear(self) -> None:
        for values in self.points.values():
            values.clear()
        self._dirty = True

    def point_count(self, name: str) -> int:
        return len(self.points[name])

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("epoch")
        for name in self.series_names:
            values = self.points[name]
            if len(values) > MAX_DRAWN_POINTS:  # a terminal cannot show more; drawing costs
                step = -(-len(values) // MAX_DRAWN_POINTS)
                values = values[::step] + ([values[-1]] if (len(values) - 1) % step else [])
            if values:
                plt.plot(
                    [e for e, _ in values], [v for _, v in values], label=name, marker="braille"
                )
        self.refresh()

    def on_mount(self) -> None:
        super().on_mount()
        self.redraw()
