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
    assert "tensor ops per training step" in out
    report = json.loads(path.read_text())
    assert report["threads"] == 1 and report["repeats"] == 5
    assert len(report["cases"]) == 12
    for case in report["cases"]:
        assert len(case["engine_ms"]) == len(case["eager_ms"]) == len(case["torch_ms"]) == 5
        assert case["ratio"] > 0 and case["eager_ratio"] > 0
        assert case["engine_peak_bytes"] > 0 and case["torch_peak_bytes"] > 0
        # a replayed step allocates nothing but BatchNorm's var_mean (see test_engine.py)
        assert (case["engine_alloc_bytes"] == 0) == (case["kind"] != "batchnorm")
    ops = report["ops"]
    assert ops["engine_ops"] < ops["eager_ops"] < ops["torch_ops"]
    assert "addmm" in ops["engine_op_names"] and "copy_" in ops["engine_op_names"]
    assert ops["floor_us"] > 0 and ops["sequence_us"] > 0
    # quick: three rounds, each with its step, floor and replay; ratios taken per round
    rounds = ops["per_round"]
    assert ops["rounds"] == 3 and all(len(rounds[key]) == 3 for key in rounds)
    ratios = sorted(s / f for s, f in zip(rounds["step_us"], rounds["floor_us"], strict=True))
    assert ops["step_over_floor"] == ratios[1]
    flat = " ".join(out.split())  # rich wraps long lines at spaces
    assert f"step / floor = {ratios[1]:.2f} ({ratios[0]:.2f}–{ratios[2]:.2f})" in flat
    assert "back to back" in out


