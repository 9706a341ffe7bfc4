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
    assert "tensor ops per training step" in out
    report = json.loads(path.read_text())
    assert report["threads"] == 1 and report["repeats"] == 5
    assert len(report["cases"]) == 12
    for case in report["cases"]:
        assert len(case["minidl_ms"]) == len(case["torch_ms"]) == 5
        assert case["ratio"] > 0 and case["minidl_peak_bytes"] > 0 and case["torch_peak_bytes"] > 0
    ops = report["ops"]
    assert ops["minidl_ops"] < ops["torch_ops"]
    assert "aten.addmm.out" in ops["minidl_op_names"]
    assert ops["floor_us"] > 0 and ops["sequence_us"] > 0
    assert "replayed back to back" in out
