"""``minidl-lab bench``: prints the speed and memory table of minidl.benchmark."""

from __future__ import annotations

import json
import statistics

from rich.console import Console
from rich.table import Table

from tui.cli import EXIT_OK, EXIT_USAGE


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _size(count: int) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def bench(quick: bool = False, json_path: str | None = None) -> int:
    from minidl.benchmark import CaseResult, run_benchmark
    from minidl.serialization import atomic_write_text

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=140)
    out.print(
        f"minidl vs torch.nn + autograd + torch.optim, interleaved, one thread"
        f"{' (quick)' if quick else ''}",
        markup=False,
    )

    def progress(result: CaseResult) -> None:
        out.print(f"  measured: {result.case.name}  ratio {result.ratio:.2f}", markup=False)

    report = run_benchmark(quick=quick, on_case=progress)
    table = Table(
        title=f"ms per epoch, median (min–max) of {report.repeats}, torch {report.torch_version}"
    )
    for column in (
        "case",
        "minidl ms/epoch",
        "torch ms/epoch",
        "torch/minidl",
        "peak mem minidl",
        "peak mem torch",
    ):
        table.add_column(column, justify="left" if column == "case" else "right")
    for result in report.cases:
        table.add_row(
            result.case.name,
            _ms(result.minidl_ms),
            _ms(result.torch_ms),
            f"{result.ratio:.2f}",
            _size(result.minidl_peak_bytes),
            _size(result.torch_peak_bytes),
        )
    out.print(table)
    ops = report.ops
    if ops is not None:
        out.print(
            f"tensor ops per training step, classic MLP, batch 32: minidl {len(ops.minidl_ops)}, "
            f"torch {len(ops.torch_ops)}; minidl step {ops.minidl_step_us:.1f} µs, "
            f"its ops timed one by one {ops.floor_us:.1f} µs "
            f"(step / floor = {ops.minidl_step_us / ops.floor_us:.2f})",
            markup=False,
        )
    if json_path:
        try:
            atomic_write_text(json_path, json.dumps(report.to_dict(), indent=2) + "\n")
        except OSError as error:
            Console(stderr=True).print(
                f"minidl-lab bench: error: cannot write {json_path}: {error}"
            )
            return EXIT_USAGE
    return EXIT_OK
