"""``minidl-lab compare``: the report-style table of minidl against its PyTorch twin."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui.cli import (
    EXIT_OK,
    EXIT_USAGE,
    pending_signal,
    printable,
    raise_on_signals,
    report_interrupt,
)
from tui.file_checks import os_words
from tui.output_paths import Output, OutputPathError, open_outputs

if TYPE_CHECKING:
    from scenarios.schema import Scenario


def compare_command(
    file: str, rounds: int, epochs: int | None = None, json_path: str | None = None
) -> int:
    from scenarios.limits import MAX_ROUNDS, MAX_SEED
    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import resolve_scenario_path
    from tui.replay import ClosedPipeGuard

    stdout = ClosedPipeGuard(sys.stdout)  # `| head` does not stop the rounds or the JSON
    out = Console(file=stdout, highlight=False)
    if not out.is_terminal:
        out = Console(file=stdout, highlight=False, width=120)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        scenario = load_scenario(resolve_scenario_path(file)).with_overrides(epochs=epochs)
    except ScenarioError as error:
        err.print(f"minidl-lab compare: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    if rounds > MAX_ROUNDS:
        err.print(f"minidl-lab compare: error: --rounds = {rounds}: at most {MAX_ROUNDS}")
        return EXIT_USAGE
    if scenario.training.seed + rounds - 1 > MAX_SEED:
        err.print(
            f"minidl-lab compare: error: --rounds = {rounds}: the seeds training.seed + 0 .. "
            f"+ {rounds - 1} go beyond {MAX_SEED} (2**63 - 1)"
        )
        return EXIT_USAGE
    try:  # before the rounds: they never end on a path that cannot be written
        outputs = open_outputs({"--json": json_path})
    except OutputPathError as error:
        err.print(f"minidl-lab compare: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    try:
        return _compare(scenario, rounds, outputs.get("--json"), out, err)
    finally:
        for output in outputs.values():
            output.close()


def _compare(
    scenario: Scenario, rounds: int, output: Output | None, out: Console, err: Console
) -> int:
    from minidl.reference import TwinError
    from minidl.serialization import strict_json
    from scenarios.compare import RoundResult, compare, summarize

    if pending_signal() is not None:  # a signal during start-up
        return report_interrupt(pending_signal())
    raise_on_signals()  # from now on a signal ends the rounds at once
    name = printable(scenario.name, keep_newlines=False)
    out.print(
        f"{name}: minidl and its PyTorch twin, {rounds} round(s) of "
        f"{scenario.training.epochs} epochs, same weights and batches in each round",
        markup=False,
    )

    def progress(result: RoundResult) -> None:
        final = result.minidl.final
        label = "test R²" if scenario.data.is_regression else "test acc"
        if final is None:
            value = "—"
        else:
            value = f"{final.test_r2 if final.is_regression else final.test_accuracy:.3f}"
        line = f"  round seed {result.seed}: {label} minidl {value}"
        if not math.isnan(result.max_loss_difference):
            line += f" · largest loss difference {result.max_loss_difference:.1e}"
        diverged = result.minidl.diverged
        if diverged is not None:
            theirs = result.torch.epochs[diverged.epoch - 1].train_loss
            line += (
                f" · minidl diverged at epoch {diverged.epoch}, step {diverged.step} (loss "
                f"{diverged.loss}); PyTorch's train loss in that epoch: {theirs:.4g}"
            )
        out.print(line, markup=False)

    try:
        results = compare(scenario, rounds, on_round=progress)
    except TwinError as error:
        err.print(f"minidl-lab compare: error: {printable(error)}", markup=False)
        return EXIT_USAGE
    summary = summarize(results)
    table = Table(title=Text(f"{name}: final epoch, mean ± std over {rounds} round(s)"))
    table.add_column("")
    table.add_column("minidl", justify="right")
    table.add_column("PyTorch", justify="right")
    for metric, row in summary.items():
        table.add_row(metric, str(row["minidl"]), str(row["torch"]))
    ours = _mean_over_rounds(r.seconds_per_epoch("minidl") * 1e3 for r in results)
    theirs = _mean_over_rounds(r.seconds_per_epoch("torch") * 1e3 for r in results)
    table.add_row("ms per epoch (training)", _number(ours, ".2f"), _number(theirs, ".2f"))
    table.add_row("speed-up (torch / minidl)", _number(theirs / ours, ".2f", "×"), "")
    worst = max((r.max_loss_difference for r in results), key=_nan_last)
    table.add_row("largest per-epoch loss difference", _number(worst, ".2e", " (relative)"), "")
    out.print(table)
    if output is not None:
        document = {
            "scenario": scenario.name,
            "rounds": [
                {
                    "seed": r.seed,
                    "minidl": r.minidl.to_dict(),
                    "torch": r.torch.to_dict(),
                    "max_loss_difference": r.max_loss_difference,
                }
                for r in results
            ],
            "summary": {
                metric: {fw: {"mean": s.mean, "std": s.std} for fw, s in row.items()}
                for metric, row in summary.items()
            },
            "ms_per_epoch": {"minidl": ours, "torch": theirs},
        }
        try:
            output.write(strict_json(document))
        except OSError as error:
            err.print(
                f"minidl-lab compare: error: cannot write {printable(output.path)}: "
                f"{printable(os_words(error))}",
                markup=False,
            )
            return EXIT_USAGE
    return EXIT_OK


def _mean_over_rounds(values: Iterable[float]) -> float:
    """The mean of the rounds that have a value (NaN: a round with no epoch)."""
    present = [v for v in values if not math.isnan(v)]
    return statistics.fmean(present) if present else math.nan


def _nan_last(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def _number(value: float, spec: str, unit: str = "") -> str:
    """``value`` formatted, or — when no epoch gave one."""
    return "—" if math.isnan(value) else f"{value:{spec}}{unit}"
