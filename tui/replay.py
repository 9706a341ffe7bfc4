"""``minidl-lab replay``: one scenario trained headless, for CI, scripts and no-TTY users.

Shows a progress bar on a terminal and one line per epoch otherwise, ends
with a summary table, and maps the outcome to an exit status.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tui.cli import EXIT_EXPECTATION_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

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


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Turn Ctrl-C into a stop request, so the run ends cleanly and writes its files."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _summary_table(
    scenario: Scenario, history: History, results: list[ExpectationResult], seconds: float
) -> Table:
    final = history.final
    title = (
        f"{scenario.name}: {history.status} after {len(history.epochs)} epochs in {seconds:.1f} s"
    )
    table = Table(title=title, title_justify="left")
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
    """Run one scenario headless; return the process exit status."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    from scenarios.build import build_experiment, check_expectations
    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import resolve_scenario_path

    try:
        scenario = load_scenario(resolve_scenario_path(file)).with_overrides(epochs, seed)
    except ScenarioError as error:
        err.print(f"minidl-lab replay: error: {error}", markup=False)
        return EXIT_USAGE
    experiment = build_experiment(scenario)
    total = scenario.training.epochs
    stop = threading.Event()
    started = time.perf_counter()
    with _stop_on_interrupt(stop):
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
                err.print(f"minidl-lab replay: error: cannot write {path}: {error}", markup=False)
                return EXIT_USAGE

    results = check_expectations(scenario, history)
    failed = [r for r in results if not r.passed]
    if quiet:
        final = history.final
        numbers = (
            "" if final is None else f", test accuracy {final.test_accuracy:.4f}, F1 {final.f1:.4f}"
        )
        verdict = "expectations met" if not failed else f"{len(failed)} expectation(s) FAILED"
        out.print(
            f"{scenario.name}: {history.status}, {len(history.epochs)} epochs{numbers}, "
            f"{seconds:.1f} s: {verdict}",
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
        return EXIT_INTERRUPTED
    for result in failed:
        err.print(f"expectation failed: {result.describe()}", markup=False)
    return EXIT_OK if not failed and history.status == "completed" else EXIT_EXPECTATION_FAILED


def _line_printer(out: Console, total: int):
    from minidl.train import EpochCompleted

    def on_event(event: Event) -> None:
        if isinstance(event, EpochCompleted):
            out.print(format_epoch_line(event, total), markup=False, soft_wrap=True)

    return on_event


def _run_with_progress_bar(trainer, scenario: Scenario, out: Console, stop: threading.Event):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from minidl.train import EpochCompleted

    total = scenario.training.epochs
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[numbers]}"),
    )
    with Progress(*columns, console=out) as progress:
        task = progress.add_task(scenario.name, total=total, numbers="")

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
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            table.add_row(name, "", "", "", f"[red]invalid: {error}[/]")
            continue
        table.add_row(
            name,
            scenario.data.kind,
            str(len(scenario.model.layers)),
            str(scenario.training.epochs),
            " ".join(scenario.description.split()).split(". ")[0].split(": ")[0],
        )
    out.print(table)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(replay(sys.argv[1]))
