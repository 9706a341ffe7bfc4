"""``minidl-lab bench --quick`` works end to end (no timing assertions: see the README)."""

from __future__ import annotations

import json

from tui.cli import main


def test_bench_quick_prints_the_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    for case in (
        "classic MLP, batch 1",
        "classic MLP, batch 32",
        "full batch",
        "wide MLP 1024",
        "BatchNorm MLP",
        "Conv1d stack",
        "MLP 512, GELU, batch 512",
    ):
        assert case in out
    # one table: an engine row and an eager row per case
    rows = [line for line in out.splitlines() if "│" in line]
    assert sum(" engine " in row for row in rows) == 12
    assert sum(" eager " in row for row in rows) == 12
    assert "what the ops allow" in out and "torch/floor" in out
    report = json.loads(path.read_text())
    assert report["threads"] == 1 and report["repeats"] == 5
    assert len(report["cases"]) == 12
    for case in report["cases"]:
        assert len(case["engine_ms"]) == len(case["eager_ms"]) == len(case["torch_ms"]) == 5
        assert case["ratio"] > 0 and case["eager_ratio"] > 0
        assert case["engine_peak_bytes"] > 0 and case["torch_peak_bytes"] > 0
        # a replayed step allocates nothing but BatchNorm's var_mean (see test_engine.py)
        assert (case["engine_alloc_bytes"] == 0) == (case["kind"] != "batchnorm")
    floors = {floor["case"]: floor for floor in report["floors"]}
    assert list(floors) == [
        "classic MLP, batch 1",
        "classic MLP, batch 32",
        "BatchNorm MLP, batch 32",
    ]
    ops = floors["classic MLP, batch 32"]
    assert ops["engine_ops"] < ops["eager_ops"] < ops["torch_ops"] < ops["eager_calls"]
    assert "addmm" in ops["engine_op_names"] and "copy_" in ops["engine_op_names"]
    # quick: three rounds, each with every step and floor; ratios taken per round
    rounds = ops["per_round"]
    assert ops["rounds"] == 3 and all(len(rounds[key]) == 3 for key in rounds)
    assert all(value > 0 for values in rounds.values() for value in values)
    over_floor = sorted(s / f for s, f in zip(rounds["step_us"], rounds["floor_us"], strict=True))
    ceiling = sorted(t / f for t, f in zip(rounds["torch_us"], rounds["floor_us"], strict=True))
    assert ops["step_over_floor"] == over_floor[1] and ops["ceiling"] == ceiling[1]
    # a step costs at least its ops: the floor lies under the step, and so does the eager floor
    assert ops["floor_us"] < ops["step_us"] and ops["eager_floor_us"] < ops["eager_us"]
    flat = " ".join(out.split())  # rich wraps long lines at spaces
    assert f"{over_floor[1]:.2f} ({over_floor[0]:.2f}–{over_floor[2]:.2f})" in flat
    assert f"{ceiling[1]:.2f} ({ceiling[0]:.2f}–{ceiling[2]:.2f})" in flat


def test_in_an_80_column_terminal_the_tables_fit_without_cutting_a_cell():
    """Medians only, fewer columns, and the floors one column a case, below COMPACT_BELOW
    columns: no line is longer than the terminal and no cell is cut to '…'."""
    from rich.console import Console

    from minidl.benchmark import BenchReport, CaseResult, default_cases
    from minidl.op_floor import OpFloor
    from tui.bench import _floor_table, _speed_table

    times = [1.234, 1.5, 1.1]
    report = BenchReport(threads=1, repeats=3, torch_version="2.13.0+cpu")
    for case in default_cases(quick=True):
        report.cases.append(CaseResult(case, times, times, times, 600.0, 3 << 20, 40 << 10))
    floor = OpFloor("classic MLP, batch 32", ["addmm"] * 35, 87, 50, 74, *[[218.4, 220.1]] * 6)
    console = Console(width=80, record=True)
    console.print(_speed_table(report, compact=True))
    console.print(_floor_table([floor, floor], compact=True))
    text = console.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    assert "GELU" in text and "1.23" in text and "(1.10–1.50)" not in text  # medians only
