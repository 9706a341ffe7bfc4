"""The table of every epoch: losses, accuracies and F1, under a header that stays put."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from minidl.train import EpochCompleted

HEADER = "        ─── loss ───   ─ accuracy ─\nepoch   train    test   train    test     F1"
REGRESSION_HEADER = (
    "        ─── loss ───   ──── R² ────\nepoch   train    test   train    test    MAE"
)


def _loss(value: float) -> str:
    """A loss in 7 columns whatever its size: 0.02381, 1.2e+05, inf."""
    text = f"{value:7.4f}"
    return text if len(text) <= 7 else f"{value:7.2g}"


def epoch_line(e: EpochCompleted) -> str:
    if e.is_regression:
        return (
            f"{e.epoch:>5} {_loss(e.train_loss)} {_loss(e.test_loss)} "
            f"{e.train_r2:>7.3f} {e.test_r2:>7.3f} {_loss(e.test_mae or 0.0):>6}"
        )
    return (
        f"{e.epoch:>5} {_loss(e.train_loss)} {_loss(e.test_loss)} "
        f"{e.train_accuracy:>7.3f} {e.test_accuracy:>7.3f} {e.f1:>6.3f}"
    )


class EpochTable(Vertical):
    """A log, not a DataTable: appending is cheap, and the UI thread must stay idle for
    the training thread (measured: a DataTable of 600 rows cost about a third of the
    training time)."""

    def compose(self) -> ComposeResult:
        yield Static(HEADER, id="metrics-header", markup=False)
        yield RichLog(id="metrics", max_lines=2000, wrap=False)

    def add(self, events: Iterable[EpochCompleted]) -> None:
        events = list(events)
        if events:  # the header of the run's task
            header = REGRESSION_HEADER if events[0].is_regression else HEADER
            self.query_one("#metrics-header", Static).update(header)
        self.query_one(RichLog).write("\n".join(map(epoch_line, events)), scroll_end=True)

    def on_resize(self) -> None:
        """The latest epochs in view after a resize or after z shows the table: rows written
        while it was hidden or of another size left it scrolled part way."""
        log = self.query_one(RichLog)
        log.call_after_refresh(log.scroll_end, animate=False)

    def clear(self) -> None:
        self.query_one(RichLog).clear()
