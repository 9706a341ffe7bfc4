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
from tui.file_checks import os_words
from tui.output_paths import Output, OutputPathError, open_outputs

if TYPE_CHECKING:
    from collections.abc import Iterator

    from minidl.train import EpochCompleted, Event, History
    from scenarios.build import ExpectationResult
    from scenarios.schema import Scenario


def format_epoch_line(event: EpochCompleted, total_epochs: int) -> str:
    width = len(str(total_epochs))
    if event.is_regression:
        return (
            f"epoch {event.epoch:>{width}}/{total_epochs}  "
            f"train loss {event.train_loss:.4f} R² {event.train_r2:.3f} | "
            f"test loss {event.test_loss:.4f} MSE {event.test_mse:.4f} "
            f"MAE {event.test_mae:.4f} R² {event.test_r2:.3f} | "
            f"{event.samples_per_second:,.0f} samples/s"
        )
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
    regression = scenario.data.is_regression
    for metric in (
        ("train_loss", "train_r2", "test_loss", "test_mse", "test_mae", "test_r2")
        if regression
        else (
            "train_loss",
            "train_accuracy",
            "test_loss",
            "test_accuracy",
            "precision",
            "recall",
            "f1",
        )
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
    layers_path: str | None = None,
) -> int:
    """Run one scenario headless; return the process exit status.

    SIGINT, SIGTERM and SIGHUP stop the run within one batch; the completed
    epochs are still written to ``json_path``/``csv_path`` and the status is
    128 + the signal's number. A closed standard output does not stop the
    run either: the files are written all the same. With ``layers_path``
    (or layer expectations in the scenario) the last step of every epoch is
    observed and each layer's health is written there (CSV or JSON by the
    extension) and judged. The paths are checked (and a pipe opened) before training.
    """
    out = Console(file=ClosedPipeGuard(sys.stdout), highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import resolve_scenario_path

    try:
        scenario = load_scenario(resolve_scenario_path(file)).with_overrides(epochs, seed)
    except ScenarioError as error:
        err.print(f"minidl-lab replay: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    try:  # before training: a run of minutes never ends on a path it cannot write
        outputs = open_outputs({"--json": json_path, "--csv": csv_path, "--layers": layers_path})
    except OutputPathError as error:
        err.print(f"minidl-lab replay: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    try:
        return _replay(scenario, outputs, quiet, layers_path is not None, out, err)
    finally:
        for output in outputs.values():
            output.close()


def _replay(
    scenario: Scenario,
    outputs: dict[str, Output],
    quiet: bool,
    layers_asked: bool,
    out: Console,
    err: Console,
) -> int:
    from minidl.health import LayerStatsComputed
    from scenarios.build import build_experiment, check_expectations
    from scenarios.layer_checks import layer_statistics_text

    try:
        experiment = build_experiment(scenario)
    except MemoryError:
        err.print("minidl-lab replay: error: not enough memory to build the scenario", markup=False)
        return EXIT_USAGE
    if pending_signal() is not None:  # a signal during start-up
        return report_interrupt(pending_signal())
    total = scenario.training.epochs
    stop = StopRequest()
    layer_epochs: list[LayerStatsComputed] = []
    watch_layers = layers_asked or bool(scenario.expect.layer_bounds)
    if watch_layers:  # observe each epoch's last step only
        trainer = experiment.trainer
        trainer.health_every = -(-trainer.data.x_train.shape[0] // trainer.batch_size)
    printer = None if quiet or out.is_terminal else _line_printer(out, total)

    def on_event(event: Event) -> None:
        if isinstance(event, LayerStatsComputed) and event.epoch_end:
            layer_epochs.append(event)
        if printer is not None:
            printer(event)

    started = time.perf_counter()
    with stop_on_signals(stop):
        if not quiet and out.is_terminal:
            history = _run_with_progress_bar(experiment.trainer, scenario, out, stop, on_event)
        else:
            history = experiment.trainer.run(total, on_event, stop.is_set)
        seconds = time.perf_counter() - started
        # only epochs that completed (a diverged step reports no statistics anyway)
        layer_epochs = [e for e in layer_epochs if e.epoch <= len(history.epochs)]

        texts = {
            "--json": history.to_json,
            "--csv": history.to_csv,
            "--layers": lambda: layer_statistics_text(outputs["--layers"].path, layer_epochs),
        }
        for option, output in outputs.items():
            try:
                output.write(texts[option]())
            except OSError as error:
                err.print(
                    f"minidl-lab replay: error: cannot write {printable(output.path)}: "
                    f"{printable(os_words(error))}",
                    markup=False,
                )
                return EXIT_USAGE

    results = check_expectations(scenario, history)
    from scenarios.layer_checks import check_layer_expectations

    final_layers = layer_epochs[-1] if layer_epochs and history.status == "completed" else None
    if final_layers is not None and final_layers.epoch != len(history.epochs):
        final_layers = None
    layer_results = check_layer_expectations(scenario.expect.layer_bounds, final_layers)
    failed = [r for r in [*results, *layer_results] if not r.passed]
    if quiet:
        final = history.final
        if final is None:
            numbers = ""
        elif final.is_regression:
            numbers = f", test R² {final.test_r2:.4f}, MAE {final.test_mae:.4f}"
        else:
            numbers = f", test accuracy {final.test_accuracy:.4f}, F1 {final.f1:.4f}"
        if not results and not layer_results:  # a file saved without [expect]: nothing to judge
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
        for result in layer_results:
            out.print(f"layers: {result.describe()}", markup=False, soft_wrap=True)
        if final_layers is not None:
            for layer in final_layers.layers:
                for flag in layer.flags:
                    out.print(
                        f"layer {layer.index} ({layer.layer}): {flag}", markup=False, soft_wrap=True
                    )
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


def _run_with_progress_bar(trainer, scenario: Scenario, out: Console, stop: StopRequest, also=None):
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
            if also is not None:
                also(event)
            if isinstance(event, EpochCompleted):
                progress.update(
                    task,
                    advance=1,
                    numbers=(
                        f"loss {event.train_loss:.4f}  test R² {event.test_r2:.3f}  "
                        f"MAE {event.test_mae:.3f}"
                        if event.is_regression
                        else f"loss {event.train_loss:.4f}  test acc {event.test_accuracy:.3f}  "
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
