"""``minidl-lab bench``: prints the speed and memory table of minidl.benchmark."""

from __future__ import annotations

import json
import statistics
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tui.cli import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from minidl.benchmark import BenchReport
    from minidl.op_floor import OpFloor


def _spread(values: list[float]) -> str:
    """Median (min–max): times in ms or s, and ratios."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _size(count: int) -> str:
    # MiB with two decimals: the floor and torch's peak of the 512-unit MLPs differ by 10 KiB
    for unit, scale, digits in (("MiB", 2**20, 2), ("KiB", 2**10, 1)):
        if count >= scale:
            return f"{count / scale:.{digits}f} {unit}"
    return f"{count} B"


def _write_json(json_path: str, data: object) -> int:
    from minidl.serialization import atomic_write_text

    try:
        atomic_write_text(json_path, json.dumps(data, indent=2) + "\n")
    except OSError as error:
        Console(stderr=True).print(f"minidl-lab bench: error: cannot write {json_path}: {error}")
        return EXIT_USAGE
    return EXIT_OK


def bench_lab(name_or_path: str, rounds: int = 3, json_path: str | None = None) -> int:
    """Samples/s of a scenario headless and in the lab, and how the lab answers meanwhile."""
    from dataclasses import asdict

    from scenarios.schema import ScenarioError, load_scenario
    from scenarios.shipped import resolve_scenario_path
    from tui.lab_cost import LAB_SIZE, measure_lab_cost

    try:
        scenario = load_scenario(resolve_scenario_path(name_or_path))
    except (ScenarioError, OSError) as error:
        Console(stderr=True).print(f"minidl-lab bench: error: {error}", markup=False)
        return EXIT_USAGE
    if rounds < 1:
        Console(stderr=True).print("minidl-lab bench: error: --rounds must be at least 1")
        return EXIT_USAGE
    out = Console(highlight=False)
    out.print(
        f"{scenario.name}: {scenario.training.epochs} epochs, headless and in the lab "
        f"({LAB_SIZE[0]}×{LAB_SIZE[1]}, live charts), alternately, {rounds} round(s)",
        markup=False,
    )
    cost = measure_lab_cost(scenario, rounds)
    table = Table(title="training time, median (min–max)")
    for column in ("run", "seconds", "samples/s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_row(
        "headless (trainer only)",
        _spread(cost.headless_seconds),
        f"{cost.headless_rate:,.0f}",
    )
    table.add_row("in the lab", _spread(cost.lab_seconds), f"{cost.lab_rate:,.0f}")
    out.print(table)
    lags = sorted(cost.timer_lag_ms)
    out.print(
        f"lab / headless samples/s: {cost.lab_rate / cost.headless_rate:.3f}; "
        f"while training, a {1000 * 0.02:.0f} ms UI timer fired late by median "
        f"{statistics.median(lags):.1f} ms, 99th percentile "
        f"{lags[int(0.99 * (len(lags) - 1))]:.1f} ms, max {lags[-1]:.1f} ms; "
        f"key press to status line: " + ", ".join(f"{ms:.0f} ms" for ms in cost.key_to_screen_ms),
        markup=False,
    )
    if json_path:
        return _write_json(json_path, asdict(cost))
    return EXIT_OK


COMPACT_BELOW = 150  # columns: a narrower terminal gets medians only, and fewer columns


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}"


def _speed_table(report: BenchReport, compact: bool) -> Table:
    """ms per epoch of each case: engine and eager rows, torch beside them."""
    spread = _median if compact else _spread
    title = f"ms per epoch, median{'' if compact else ' (min–max)'} of {report.repeats}"
    table = Table(title=f"{title}, torch {report.torch_version}")
    columns = ["case", "minidl", "minidl ms/epoch", "torch ms/epoch", "torch/minidl"]
    columns += ["alloc/step"] + ([] if compact else ["peak mem minidl", "peak mem torch"])
    if compact:  # the title says ms per epoch; the footnote says what speed-up is
        columns = ["case", "", "minidl", "torch", "speed-up", "alloc"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("case", "") else "right")
    for result in report.cases:
        peaks = [_size(result.engine_peak_bytes), _size(result.torch_peak_bytes)]
        table.add_row(
            result.case.name,
            "engine",
            spread(result.engine_ms),
            spread(result.torch_ms),
            f"{result.ratio:.2f}",
            _size(round(result.engine_alloc_bytes)),
            *([] if compact else peaks),
        )
        table.add_row(
            "",
            "eager",
            spread(result.eager_ms),
            "",
            f"{result.eager_ratio:.2f}",
            *[""] * (1 if compact else 3),
            end_section=True,
        )
    return table


def _floor_table(floors: list[OpFloor], compact: bool) -> Table:
    """The small networks' steps next to the floors of their ops (narrow: one column a case)."""
    rounds = len(floors[0].step_us)
    table = Table(title=f"what the ops allow: µs per step, median of {rounds} rounds")
    median = statistics.median
    spread = _median if compact else _spread
    rows: list[tuple[str, list[str]]] = [
        ("ops", [f"{len(f.engine_ops)}/{f.eager_ops}/{f.torch_ops}" for f in floors]),
        ("torch", [f"{median(f.torch_us):.1f}" for f in floors]),
        ("engine", [f"{median(f.step_us):.1f}" for f in floors]),
        ("floor", [f"{median(f.floor_us):.1f}" for f in floors]),
        ("back to back", [f"{median(f.sequence_us):.1f}" for f in floors]),
        ("step/floor", [spread(f.step_over_floor) for f in floors]),
        ("torch/floor", [spread(f.ceiling) for f in floors]),
        ("eager", [f"{median(f.eager_us):.1f}" for f in floors]),
        ("eager floor", [f"{median(f.eager_floor_us):.1f}" for f in floors]),
        ("torch/eager floor", [spread(f.eager_ceiling) for f in floors]),
    ]
    if compact:
        table.add_column("")
        for floor in floors:
            table.add_column(floor.case, justify="right")
        for name, values in rows:
            table.add_row(name, *values)
        return table
    table.add_column("case")
    for name, _ in rows:
        table.add_column(name, justify="right")
    for index, floor in enumerate(floors):
        table.add_row(floor.case, *(values[index] for _, values in rows))
    return table


def bench(quick: bool = False, json_path: str | None = None) -> int:
    from minidl.benchmark import CaseResult, run_benchmark

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    out.print(
        f"minidl (step engine and eager) vs torch.nn + autograd + torch.optim, interleaved, "
        f"one thread{' (quick)' if quick else ''}",
        markup=False,
    )

    def progress(result: CaseResult) -> None:
        out.print(
            f"  measured: {result.case.name}: torch/minidl {result.ratio:.2f} through the "
            f"engine, {result.eager_ratio:.2f} eager",
            markup=False,
        )

    report = run_benchmark(quick=quick, on_case=progress)
    compact = out.width < COMPACT_BELOW
    out.print(_speed_table(report, compact))
    out.print(
        "engine: minidl.StepEngine, the trainer's path (one step recorded, then replayed into "
        "fixed buffers); eager: the plain public step. alloc/step: bytes allocated by a replayed "
        "step; peak mem: a fresh run (model, optimizer, the engine's recordings, four steps)"
        + (
            f". speed-up: torch/minidl. min–max and peak memory: a terminal of {COMPACT_BELOW} "
            "columns, or --json"
            if compact
            else ""
        ),
        markup=False,
    )
    if report.floors:
        out.print(_floor_table(report.floors, compact))
        out.print(
            "µs per step, median of the rounds' medians. floor: the replay's calls, each timed "
            "alone (repeated, denormals flushed) and summed, what the step would cost with no "
            "Python around its ops; back to back: the same calls in one loop. torch/floor is "
            "the most any replay of these calls could gain over torch; torch/eager floor the "
            "same for the eager step's torch calls (views and shape reads included). ops: "
            "engine replay calls / eager aten ops / torch aten ops.",
            markup=False,
        )
    if json_path:
        return _write_json(json_path, report.to_dict())
    return EXIT_OK
