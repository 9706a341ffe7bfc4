"""``minidl-lab replay``: one scenario trained headless, for CI, scripts and no-TTY users.

Shows a progress bar on a terminal and one line per epoch otherwise, ends
with a summary table, and maps the outcome to an exit status.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui.cli import (
    EXIT_EXPECTATION_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    STOP_SIGNALS,
    pending_signal,
    printable,
    report_interrupt,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from minidl.train import EpochCompleted, Event, History
    from scenarios.build import ExpectationResult
    from scenarios.schema import Scenario


def format_epoch_line(event: EpochCompleted, total_epochs: int) -> str:
    width = len(str(total_epochs))
    return (
        f"epoch {event.epoch:>{width}}/{total_epochs}  "
        f"train loss {event.train_loss:.4f} acc {event.train_accuracy:.3f} | "
        f"test loss {event.test_loss:.4f} acc {event.test_accuracy:.3f} "
        f"P {event.precision:.3f} R {event.recall:.3f} F1 {event.f1:.3f} | "
        f"{event.samples_per_second:,.0f} samples/s"
    )


class StopRequest:
    """Set by SIGINT, SIGTERM or SIGHUP: the run stops within one batch and keeps its epochs."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def __call__(self, signum: int, _frame: Any = None) -> None:
        if self.signum is None:
            self.signum = signum
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into a stop request while training and writing files."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class ClosedPipeGuard:
    """Standard output that survives its reader leaving (``| head -3``).

    After a broken pipe, output is dropped (file descriptor 1 then points to
    /dev/null, so the interpreter's last flush is silent) and the run goes on
    to write its files.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def _lost(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # no file descriptor (a test's capture): nothing to silence

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _summary_table(
    scenario: Scenario, history: History, results: list[ExpectationResult], seconds: float
) -> Table:
    final = history.final
    title = Text(
        f"{printable(scenario.name, keep_newlines=False)}: {history.status} after "
        f"{len(history.epochs)} epochs in {seconds:.1f} s"
    )
    table = Table(title=title, title_justify="left")
    if not results:
        table.caption = "no expectations in the file: nothing to check"
        table.caption_justify = "left"
    table.add_column("metric")
    table.add_column("final", justify="right")
    table.add_column("expected", justify="right")
    table.add_column("verdict")
    judged = {r.key: r for r in results}
    from scenarios.schema import EXPECTATIONS

    by_metric = {metric: judged[key] for key, (metric, _) in EXPECTATIONS.items() if key in judged}
    for metric in (
        "train_loss",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "precision",
        "recall",
        "f1",
    ):
        value = "—" if final is None else f"{getattr(final, metric):.4f}"
        result = by_metric.get(metric)
        if result is None:
            table.add_row(metric, value, "", "")
            continue
        _, direction = EXPECTATIONS[result.key]
        sign = "≥" if direction == "min" else "≤"
        verdict = "[green]ok[/]" if result.passed else "[bold red]FAILED[/]"
        table.add_row(metric, value, f"{sign} {result.bound}", verdict)
    if final is not None:
        table.add_row("samples/s (last epoch)", f"{final.samples_per_second:,.0f}", "", "")
    return table


def replay(
    file: str,
    epochs: int | None = None,
    seed: int | None = None,
    json_path: str | None = None,
    csv_path: str | None = None,
    quiet: bool = False,
) -> int:
    """Run one scenario headless; return the process exit status.

    SIGINT, SIGTERM and SIGHUP stop the run within one batch; the completed
    epochs are still written to ``json_path``/``csv_path`` and the status is
    128 + the signal's number. A closed standard output does not stop the
    run either: the files are written all the same.
    """
    out = Console(file=ClosedPipeGuard(sys.stdout), highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    from scenarios.build import build_experiment, check_expectations
    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import resolve_scenario_path

    try:
        scenario = load_scenario(resolve_scenario_path(file)).with_overrides(epochs, seed)
    except ScenarioError as error:
        err.print(f"minidl-lab replay: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    try:
        experiment = build_experiment(scenario)
    except MemoryError:
        err.print("minidl-lab replay: error: not enough memory to build the scenario", markup=False)
        return EXIT_USAGE
    if pending_signal() is not None:  # a signal during start-up
        return report_interrupt(pending_signal())
    total = scenario.training.epochs
    stop = StopRequest()
    started = time.perf_counter()
    with stop_on_signals(stop):
        if quiet:
            history = experiment.trainer.run(total, None, stop.is_set)
        elif out.is_terminal:
            history = _run_with_progress_bar(experiment.trainer, scenario, out, stop)
        else:
            history = experiment.trainer.run(total, _line_printer(out, total), stop.is_set)
        seconds = time.perf_counter() - started

        for path, write in ((json_path, history.to_json), (csv_path, history.to_csv)):
            if path:
                try:
                    write(path)
                except OSError as error:
                    err.print(
                        f"minidl-lab replay: error: cannot write {printable(path)}: "
                        f"{printable(error)}",
                        markup=False,
                    )
                    return EXIT_USAGE

    results = check_expectations(scenario, history)
    failed = [r for r in results if not r.passed]
    if quiet:
        final = history.final
        numbers = (
            "" if final is None else f", test accuracy {final.test_accuracy:.4f}, F1 {final.f1:.4f}"
        )
        if not results:  # a file saved without [expect]: nothing to judge
            verdict = "no expectations"
        elif failed:
            verdict = f"{len(failed)} expectation(s) FAILED"
        else:
            verdict = "expectations met"
        out.print(
            f"{printable(scenario.name, keep_newlines=False)}: {history.status}, "
            f"{len(history.epochs)} epochs{numbers}, {seconds:.1f} s: {verdict}",
            markup=False,
            soft_wrap=True,
        )
    else:
        out.print(_summary_table(scenario, history, results, seconds))
    if history.diverged is not None:
        d = history.diverged
        err.print(
            f"training diverged: loss {d.loss} at epoch {d.epoch}, step {d.step} "
            "(that step was not applied)",
            markup=False,
        )
    if history.stopped is not None:
        s = history.stopped
        err.print(
            f"training interrupted at epoch {s.epoch}, step {s.step}; "
            f"{len(history.epochs)} complete epochs kept",
            markup=False,
        )
    signum = stop.signum or pending_signal()  # during training, or while printing the summary
    if signum is not None:
        return 128 + signum
    for result in failed:
        err.print(f"expectation failed: {result.describe()}", markup=False)
    return EXIT_OK if not failed and history.status == "completed" else EXIT_EXPECTATION_FAILED


def _line_printer(out: Console, total: int):
    from minidl.train import EpochCompleted

    def on_event(event: Event) -> None:
        if isinstance(event, EpochCompleted):
            out.print(format_epoch_line(event, total), markup=False, soft_wrap=True)

    return on_event


def _run_with_progress_bar(trainer, scenario: Scenario, out: Console, stop: StopRequest):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from minidl.train import EpochCompleted

    total = scenario.training.epochs
    columns = (
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[numbers]}", markup=False),
    )
    with Progress(*columns, console=out) as progress:
        name = printable(scenario.name, keep_newlines=False)
        task = progress.add_task(name, total=total, numbers="")

        def on_event(event: Event) -> None:
            if isinstance(event, EpochCompleted):
                progress.update(
                    task,
                    advance=1,
                    numbers=(
                        f"loss {event.train_loss:.4f}  test acc {event.test_accuracy:.3f}  "
                        f"F1 {event.f1:.3f}"
                    ),
                )

        return trainer.run(total, on_event, stop.is_set)


def list_scenarios() -> int:
    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import shipped_scenarios

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=120)
    table = Table("name", "data", "layers", "epochs", "description")
    for name, path in shipped_scenarios().items():
        shown = Text(printable(name, keep_newlines=False))
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            table.add_row(shown, "", "", "", Text(f"invalid: {printable(error)}", style="red"))
            continue
        summary = " ".join(scenario.description.split()).split(". ")[0].split(": ")[0]
        table.add_row(
            shown,
            scenario.data.kind,
            str(len(scenario.model.layers)),
            str(scenario.training.epochs),
            Text(printable(summary, keep_newlines=False)),
        )
    out.print(table)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(replay(sys.argv[1]))
