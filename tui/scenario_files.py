"""What the lab writes when it saves a scenario, and how it finds one to load.

A saved file describes the setup on screen: its name is the file's, its
description is built from the settings (never the loaded scenario's text),
and its ``[expect]`` holds either nothing or the metrics this run reached,
never a loaded file's bounds that the new setup may not meet.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from minidl.train import EpochCompleted
from scenarios.field_reader import ScenarioError
from scenarios.schema import ComponentSpec, Expectations, Scenario, load_scenario
from scenarios.shipped import shipped_scenarios
from tui.file_checks import read_problem

# expectation key -> the final epoch's field; minimums are rounded down, so a replay
# (which reproduces the lab's numbers exactly) meets them
RECORDED = {"min_test_accuracy": "test_accuracy", "min_test_f1": "f1"}


def default_file_name(scenario: Scenario) -> str:
    """``centered_disk-adam.toml``: the data set and the optimizer."""
    return f"{scenario.data.kind}-{scenario.training.optimizer.type.lower()}.toml"


def _component(spec: ComponentSpec) -> str:
    return spec.describe() if spec.args else spec.type


def describe(scenario: Scenario) -> str:
    """A few lines saying what the setup is, built from its settings."""
    data, model, training = scenario.data, scenario.model, scenario.training
    inputs = len(model.features) if model.features else 2
    layers = " → ".join(
        f"{layer.type} {layer.kwargs['out_features']}"
        if "out_features" in layer.kwargs
        else layer.type
        for layer in model.layers
    )
    if data.kind == "csv":
        source = f"the points of {data.path} ({data.test_fraction:g} kept for testing)"
    else:
        source = f"{data.kind}, {data.n_train} train / {data.n_test} test points"
    lines = [
        f"{inputs} → {layers}" + (f" (init {model.init})" if model.init != "default" else ""),
        f"on {source}, label noise {data.noise:g}, data seed {data.seed}.",
        f"{_component(training.loss)}, {_component(training.optimizer)} lr {training.lr:g}, "
        f"batch {training.batch_size}, {training.epochs} epochs, seed {training.seed}, "
        f"{training.dtype}.",
    ]
    if model.features:
        lines.insert(1, f"Input features: {', '.join(model.features)}.")
    extras = []
    if training.scheduler is not None:
        extras.append(f"scheduler {_component(training.scheduler)}")
    if training.clip_grad_norm is not None:
        extras.append(f"gradient norm clipped at {training.clip_grad_norm:g}")
    if not training.shuffle:
        extras.append("batches not shuffled")
    if extras:
        lines.append(", ".join(extras).capitalize() + ".")
    return "\n".join(lines)


def recorded_expectations(final: EpochCompleted) -> Expectations:
    """The final epoch's test accuracy and F1 as minimums, rounded down to 3 decimals
    (a regression's R² rounded down and MAE rounded up)."""
    if final.is_regression and final.test_r2 is not None and final.test_mae is not None:
        r2 = max(0.0, min(1.0, math.floor(final.test_r2 * 1000) / 1000))
        mae = math.ceil(final.test_mae * 10000) / 10000
        return Expectations((("min_test_r2", r2), ("max_test_mae", mae)))
    return Expectations(
        tuple(
            (key, math.floor(getattr(final, field) * 1000) / 1000)
            for key, field in RECORDED.items()
        )
    )


def for_saving(scenario: Scenario, path: str | Path, reached: EpochCompleted | None) -> Scenario:
    """The scenario as the lab saves it at ``path``: named after the file, described from
    its settings, expecting what ``reached`` shows (when given) and nothing else."""
    description = describe(scenario)
    expect = Expectations()
    if reached is not None:
        expect = recorded_expectations(reached)
        numbers = (
            f"test R² {reached.test_r2:.3f}, MAE {reached.test_mae:.4f}"
            if reached.is_regression
            else f"test accuracy {reached.test_accuracy:.3f}, F1 {reached.f1:.3f}"
        )
        description += f"\nReached in the lab after {reached.epoch} epochs: {numbers}."
    return replace(
        scenario, name=Path(path).stem, description=description, expect=expect, source=None
    )


def find_scenario(name_or_path: str) -> Path | None:
    """A file path as typed (``~`` expanded), else the shipped scenario of that name;
    None when neither exists."""
    try:
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path
    except (OSError, RuntimeError, ValueError):  # too long, a NUL, an unknown ~user
        return None
    return shipped_scenarios().get(name_or_path.removesuffix(".toml"))


def load_problem(name_or_path: str) -> tuple[Path | None, str]:
    """The scenario file that ``name_or_path`` finds and loads, or None and why not: no
    such file or name, a folder, a device, an unreadable file, or the file's problems
    (one per line)."""
    found = find_scenario(name_or_path)
    if found is None:
        problem = read_problem(name_or_path)
        if problem is None or problem.startswith("no file named"):
            return None, f"no file and no shipped scenario named {name_or_path}"
        return None, problem
    try:
        load_scenario(found)
    except ScenarioError as error:
        return None, str(error)
    return found, ""


def completion(typed: str, extensions: tuple[str, ...] = (".toml",)) -> str | None:
    """The first shipped name or existing path that ``typed`` begins: folders end in
    ``/``, files are those with one of ``extensions``."""
    if not typed:
        return None
    for name in sorted(shipped_scenarios()):
        if name.startswith(typed) and name != typed:
            return name
    try:
        return _path_completion(typed, extensions)
    except (OSError, RuntimeError, ValueError):  # an unreadable folder, a ~nobody, a NUL
        return None


def _path_completion(typed: str, extensions: tuple[str, ...]) -> str | None:
    if "/" in typed:
        folder, _, start = typed.rpartition("/")
        prefix = folder + "/"
        directory = Path(prefix).expanduser()
    else:
        start, prefix, directory = typed, "", Path(".")
    for entry in sorted(directory.iterdir()):
        if not entry.name.startswith(start) or entry.name == start:
            continue
        if start == "" and entry.name.startswith("."):
            continue
        if entry.is_dir():
            return f"{prefix}{entry.name}/"
        if entry.suffix in extensions:
            return f"{prefix}{entry.name}"
    return None
