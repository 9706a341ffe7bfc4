"""``minidl-lab bench --quick`` works end to end (no timing assertions: see the README)."""

from __future__ import annotations

import json

import pytest
import torch

import minidl
from minidl.benchmark import (
    ACTIVATIONS,
    CLASSIC,
    BenchCase,
    BenchSetup,
    memory_floor_bytes,
    peak_bytes,
)
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
        # the floor is a lower bound of minidl's own measured peak, in every case
        assert 0 < case["floor_bytes"] <= case["minidl_peak_bytes"]
    ops = report["ops"]
    assert ops["minidl_ops"] < ops["torch_ops"]
    assert "aten.addmm.out" in ops["minidl_op_names"]
    assert ops["floor_us"] > 0 and ops["sequence_us"] > 0
    # quick: three rounds, each with its step, floor and replay; ratios taken per round
    rounds = ops["per_round"]
    assert ops["rounds"] == 3 and all(len(rounds[key]) == 3 for key in rounds)
    ratios = sorted(s / f for s, f in zip(rounds["step_us"], rounds["floor_us"], strict=True))
    assert ops["step_over_floor"] == ratios[1]
    flat = " ".join(out.split())  # rich wraps long lines at spaces
    assert f"step / floor = {ratios[1]:.2f} ({ratios[0]:.2f}–{ratios[2]:.2f})" in flat
    assert "replayed back to back" in out
    assert "mem floor" in out


def test_memory_floor_counts_parameters_gradients_saved_activations_and_the_largest_step():
    case = BenchCase("classic", CLASSIC, 1, 1)
    model = case.build_model(torch.Generator().manual_seed(0))
    weights = 2 * 25 + 25 + 2 * (25 * 25 + 25) + 25 * 2 + 2
    # float32: parameters and gradients, the 25-wide inputs of the three layers after the
    # first, and the last layer's output gradient (2 wide) and input gradient (25 wide)
    for rows in (1, 32):
        expected = 2 * 4 * weights + 3 * rows * 25 * 4 + rows * (2 + 25) * 4
        assert memory_floor_bytes(model, torch.zeros(rows, 2)) == expected
    single = minidl.Sequential(minidl.Linear(2, 3), minidl.ReLU())
    # one layer with parameters: its output gradient, and no input gradient (backward stops)
    assert memory_floor_bytes(single, torch.zeros(4, 2)) == 2 * 4 * 9 + 4 * 3 * 4
    narrowing = minidl.Sequential(
        minidl.Linear(2, 8),
        minidl.Unflatten(1, (1, 8)),
        minidl.Conv1d(1, 1, 3, stride=2),
        minidl.Flatten(),
        minidl.Linear(3, 1),
    )
    # 32 weights; saved: the convolution's input (3×8) and the last Linear's (3×3); the
    # largest step is the convolution's input gradient (3×8), over the last Linear's
    # input and output gradients (3×3 + 3×1)
    assert memory_floor_bytes(narrowing, torch.zeros(3, 2)) == 4 * (2 * 32 + 24 + 9 + 24)


@pytest.mark.parametrize(
    "case",
    [
        BenchCase("classic", CLASSIC, 32, 96),
        BenchCase("float64", CLASSIC, 32, 96, "float64"),
        BenchCase("BatchNorm", CLASSIC, 32, 96, kind="batchnorm"),
        BenchCase("Conv1d", CLASSIC, 32, 96, kind="conv"),
        *(BenchCase(name, (2, 8, 8, 2), 16, 48, activation=name) for name in ACTIVATIONS),
    ],
    ids=lambda case: case.name,
)
def test_a_training_step_allocates_nothing_once_its_buffers_exist(case):
    """The step the trainer runs (bench's minidl_step) allocates no memory at all after
    its first step: an op that allocates costs more among the step's ops than alone."""
    setup = BenchSetup(case)
    x, target = setup.batches[0]
    with torch.inference_mode():
        values = [setup.minidl_step(x, target)]
        allocated = peak_bytes(
            lambda: values.extend(setup.minidl_step(x, target) for _ in range(3))
        )
    assert allocated == 0
    assert values[-1] < values[0]  # and it trains
