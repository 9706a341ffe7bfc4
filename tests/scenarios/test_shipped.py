"""The shipped scenarios replay to their expectations, from the same code as the CLI."""

from __future__ import annotations

import pytest

from scenarios import load_scenario
from scenarios.build import build_experiment, check_expectations, run_scenario
from scenarios.shipped import shipped_scenarios


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_shipped_scenario_meets_its_expectations(name):
    scenario = load_scenario(shipped_scenarios()[name])
    history = run_scenario(scenario)
    assert history.status == "completed"
    assert len(history.epochs) == scenario.training.epochs
    results = check_expectations(scenario, history)
    assert results and all(r.passed for r in results), [r.describe() for r in results]


def test_the_quarter_circle_is_judged_on_f1_not_only_accuracy():
    scenario = load_scenario(shipped_scenarios()["quarter_circle"])
    assert "min_test_f1" in scenario.expect.as_dict()


def test_the_centered_disk_uses_the_classic_network():
    scenario = load_scenario(shipped_scenarios()["centered_disk"])
    model = build_experiment(scenario).model
    widths = [m.out_features for m in model if hasattr(m, "out_features")]
    assert model[0].in_features == 2 and widths == [25, 25, 25, 2]
    assert scenario.expect.as_dict()["min_test_accuracy"] >= 0.95


def test_a_diverged_run_fails_every_expectation():
    scenario = load_scenario(shipped_scenarios()["centered_disk"])
    from dataclasses import replace

    exploding = replace(scenario, training=replace(scenario.training, lr=1e30, epochs=3))
    history = run_scenario(exploding)
    assert history.status == "diverged"
    assert not any(r.passed for r in check_expectations(exploding, history))


def test_the_breadth_scenarios_use_batchnorm_and_a_conv1d_stack():
    kinds = {
        name: {layer.type for layer in load_scenario(shipped_scenarios()[name]).model.layers}
        for name in ("centered_disk_batchnorm", "centered_disk_conv1d")
    }
    assert "BatchNorm1d" in kinds["centered_disk_batchnorm"]
    assert {"Conv1d", "Unflatten", "Flatten"} <= kinds["centered_disk_conv1d"]


@pytest.mark.parametrize("name", sorted(n for n in shipped_scenarios() if n.startswith("classic")))
def test_a_classic_scenario_says_in_words_what_it_shows(name):
    """A newcomer reads the description: it names the data and what to look for, not a
    section of someone's report."""
    description = " ".join(load_scenario(shipped_scenarios()[name]).description.split())
    assert "§" not in description and "Reports" not in description
    assert "What to look for:" in description
    assert "centered disk" in description or "quarter circle" in description
