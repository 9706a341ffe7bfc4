"""From a validated ``Scenario`` to objects: data set, model, loss, optimizer, trainer.

This is the one place where names in a scenario file become minidl
objects, so the lab, ``replay`` and the tests all build the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

import minidl
from minidl.train import Event, History, Trainer
from scenarios import registry
from scenarios.datasets import DATASETS
from scenarios.schema import EXPECTATIONS, DataSpec, ModelSpec, Scenario

DTYPES = {"float32": torch.float32, "float64": torch.float64}
INPUT_FEATURES = 2  # every data set is 2-D


class ModelSpecError(ValueError):
    """A layer stack that does not chain; ``problems`` name the layers."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def build_model(
    spec: ModelSpec,
    in_features: int,
    num_classes: int,
    generator: torch.Generator | None = None,
) -> minidl.Sequential:
    """Build the Sequential layer by layer, deriving widths and checking they chain.

    A probe batch of zero rows is pushed through each new layer, so a
    layer that cannot take the previous one's output is reported by index,
    and the output width is checked against the number of classes.
    """
    problems: list[str] = []
    model = minidl.Sequential()
    probe = torch.zeros(2, in_features)
    if spec.features:
        model.append(minidl.FeatureMap(spec.features))
        probe = model[0].forward(probe)  # two rows: BatchNorm needs more than one in training
    dropout_generator = torch.Generator().manual_seed(
        0 if generator is None else generator.initial_seed() + 2
    )
    for index, layer in enumerate(spec.layers):
        path = f"model.layers[{index}] ({layer.type})"
        kwargs = layer.kwargs
        component = registry.lookup(registry.LAYERS, layer.type)
        assert component is not None, layer.type  # the schema checked the name
        source = "input has" if index == 0 else "previous layer gives"
        derived = {
            "Linear": ("in_features", probe.shape[-1], "features"),
            "BatchNorm1d": ("num_features", probe.shape[1] if probe.dim() > 1 else 0, "features"),
            "Conv1d": ("in_channels", probe.shape[1] if probe.dim() == 3 else 0, "channels"),
        }.get(layer.type)
        if layer.type == "Conv1d" and probe.dim() != 3:
            problems.append(
                f"{path}: needs input (N, channels, length) but the {source} "
                f"{tuple(probe.shape[1:])}; put an Unflatten before it"
            )
            break
        if derived is not None:
            name, width, what = derived
            given = kwargs.setdefault(name, width)
            if given != width:
                problems.append(
                    f"{path}: {name} = {given} does not chain: the {source} {width} {what}"
                )
                break
        if layer.type in ("Linear", "Conv1d"):
            kwargs.setdefault("init", spec.init)
            kwargs["generator"] = generator
        if layer.type == "Dropout":
            kwargs["generator"] = dropout_generator
        try:
            module = component.factory(**kwargs)
            probe = module.forward(probe)
        except (ValueError, TypeError) as error:
            problems.append(f"{path}: {error}")
            break
        model.append(module)
    else:
        if probe.dim() != 2 or probe.shape[-1] != num_classes:
            problems.append(
                f"model.layers: the last layer gives {tuple(probe.shape[1:])} outputs, but the "
                f"data has {num_classes} classes (the last width must be {num_classes})"
            )
    # the probe moved running statistics of BatchNorm layers: start them afresh
    for module in model.modules():
        if isinstance(module, minidl.BatchNorm1d):
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            module.num_batches_tracked.zero_()
    if problems:
        raise ModelSpecError(problems)
    return model


def check_model(spec: ModelSpec, data: DataSpec) -> list[str]:
    """Problems of a layer stack for a data set, as messages naming the layer."""
    try:
        build_model(spec, INPUT_FEATURES, data.num_classes, torch.Generator().manual_seed(0))
    except ModelSpecError as error:
        return error.problems
    return []


@dataclass
class Experiment:
    """Everything a run needs, built from one scenario."""

    scenario: Scenario
    data: minidl.ClassificationData
    model: minidl.Sequential
    loss: minidl.Loss
    optimizer: minidl.Optimizer
    trainer: Trainer


def build_data(spec: DataSpec) -> minidl.ClassificationData:
    if spec.kind == "csv":
        from scenarios.datasets.csv_points import csv_split

        assert spec.path is not None  # the schema read the file
        return csv_split(spec.path, spec.test_fraction, spec.noise, spec.seed)
    factory, _ = DATASETS[spec.kind]
    return factory(n_train=spec.n_train, n_test=spec.n_test, noise=spec.noise, seed=spec.seed)


def build_experiment(scenario: Scenario) -> Experiment:
    """Data, model (seeded by training.seed), loss, optimizer and trainer.

    The initial weights draw from a generator seeded with ``training.seed``
    and the batch order from one seeded with ``training.seed + 1``.
    """
    training = scenario.training
    data = build_data(scenario.data)
    generator = torch.Generator().manual_seed(training.seed)
    model = build_model(scenario.model, data.num_features, data.num_classes, generator)
    model.to(dtype=DTYPES[training.dtype])
    loss_component = registry.lookup(registry.LOSSES, training.loss.type)
    optimizer_component = registry.lookup(registry.OPTIMIZERS, training.optimizer.type)
    assert loss_component is not None and optimizer_component is not None
    loss = loss_component.factory(**training.loss.kwargs)
    optimizer = optimizer_component.factory(
        model.parameters(), lr=training.lr, **training.optimizer.kwargs
    )
    scheduler = None
    if training.scheduler is not None:
        scheduler_component = registry.lookup(registry.SCHEDULERS, training.scheduler.type)
        assert scheduler_component is not None
        scheduler = scheduler_component.factory(optimizer, **training.scheduler.kwargs)
    trainer = Trainer(
        model,
        loss,
        optimizer,
        data,
        batch_size=training.batch_size,
        shuffle_seed=training.seed + 1,
        shuffle=training.shuffle,
        scheduler=scheduler,
        clip_grad_norm=training.clip_grad_norm,
    )
    return Experiment(scenario, data, model, loss, optimizer, trainer)


def run_scenario(
    scenario: Scenario,
    on_event: Callable[[Event], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> History:
    """Build and train a scenario for its ``training.epochs``."""
    experiment = build_experiment(scenario)
    return experiment.trainer.run(scenario.training.epochs, on_event, should_stop)


@dataclass(frozen=True)
class ExpectationResult:
    key: str
    bound: float
    actual: float | None
    passed: bool

    def describe(self) -> str:
        metric, direction = EXPECTATIONS[self.key]
        sign = ">=" if direction == "min" else "<="
        if self.actual is None:
            return f"{metric}: no completed epoch to judge (needs {sign} {self.bound})"
        margin = self.actual - self.bound
        verdict = "ok" if self.passed else f"FAILED by {abs(margin):.4g}"
        return f"{metric} = {self.actual:.4f} (expected {sign} {self.bound}): {verdict}"


def check_expectations(scenario: Scenario, history: History) -> list[ExpectationResult]:
    """Judge the final epoch against the scenario's [expect] bounds.

    A run that diverged or was stopped fails every expectation.
    """
    final = history.final if history.status == "completed" else None
    results = []
    for key, bound in scenario.expect.bounds:
        metric, direction = EXPECTATIONS[key]
        actual = None if final is None else getattr(final, metric)
        passed = actual is not None and (actual >= bound if direction == "min" else actual <= bound)
        results.append(ExpectationResult(key, bound, actual, passed))
    return results
