"""From a validated ``Scenario`` to objects: data set, model, loss, optimizer, trainer.

This is the one place where names in a scenario file become minidl
objects, so the lab, ``replay`` and the tests all build the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

import minidl
from minidl.events import Event
from minidl.history import History
from minidl.train import Trainer
from scenarios import registry
from scenarios.data_section import DataSpec
from scenarios.datasets import DATASETS
from scenarios.datasets.csv_points import CsvPoints
from scenarios.expectations import EXPECTATIONS
from scenarios.limits import MemoryBudget, available_memory, layer_cost
from scenarios.model_section import ModelSpec
from scenarios.schema import Scenario
from scenarios.training_section import TrainingSpec

DTYPES = {"float32": torch.float32, "float64": torch.float64}
INPUT_FEATURES = 2  # every data set is 2-D


class ModelSpecError(ValueError):
    """A layer stack that does not chain; ``problems`` name the layers.

    ``outputs`` is the width the layers give when only the last one's width
    is at fault (so a CSV file's labels can be blamed at their line).
    """

    def __init__(self, problems: list[str], outputs: int | None = None) -> None:
        self.problems = problems
        self.outputs = outputs
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class BuildFacts:
    """What validation needs to know about a built model."""

    parameters: int
    single_value_batchnorm: str | None  # a BatchNorm1d that sees one value per feature and sample


def _dim_problem(layer_type: str, kwargs: dict, shape: tuple[int, ...]) -> str | None:
    """A dimension argument that does not name a feature dimension of an input of ``shape``."""
    names = {"Flatten": ("start_dim", "end_dim"), "Unflatten": ("dim",), "Softmax": ("dim",)}
    defaults = {"start_dim": 1, "end_dim": -1, "dim": -1}
    rank = len(shape)
    dims = {}
    for name in names.get(layer_type, ()):
        value = kwargs.get(name, defaults[name])
        if not (1 <= value <= rank - 1 or -(rank - 1) <= value <= -1):
            shown = ", ".join(["N", *map(str, shape[1:])])
            allowed = " or ".join(
                f"{low}..{high}" if low != high else str(low)
                for low, high in ((1, rank - 1), (-(rank - 1), -1))
            )
            return (
                f"{name} = {value} does not name a feature dimension of its input ({shown}); "
                f"allowed: {allowed} (dimension 0 is the batch)"
            )
        dims[name] = value % rank
    if layer_type == "Flatten" and dims["start_dim"] > dims["end_dim"]:
        return (
            f"start_dim = {kwargs.get('start_dim', 1)} comes after "
            f"end_dim = {kwargs.get('end_dim', -1)} in its input of {rank} dimensions"
        )
    return None


def build_model(
    spec: ModelSpec,
    in_features: int,
    num_classes: int,
    generator: torch.Generator | None = None,
    budget: MemoryBudget | None = None,
) -> minidl.Sequential:
    """Build the Sequential layer by layer, deriving widths and checking they chain.

    A probe batch of two rows is pushed through each new layer, so a
    layer that cannot take the previous one's output is reported by index,
    and the output width is checked against the number of classes. With a
    ``budget``, each layer's memory is estimated from its sizes before it
    is allocated, and a model that would not fit is refused at that layer.
    """
    return _build(spec, in_features, num_classes, generator, budget)[0]


def _build(
    spec: ModelSpec,
    in_features: int,
    num_classes: int,
    generator: torch.Generator | None,
    budget: MemoryBudget | None,
) -> tuple[minidl.Sequential, BuildFacts]:
    problems: list[str] = []
    outputs: int | None = None
    model = minidl.Sequential()
    probe = torch.zeros(2, in_features)
    if spec.features:
        model.append(minidl.FeatureMap(spec.features))
        probe = model[0].forward(probe)  # two rows: BatchNorm needs more than one in training
    dropout_generator = torch.Generator().manual_seed(
        0 if generator is None else (generator.initial_seed() + 2) % 2**64
    )
    parameters = 0
    activations = probe.shape[1]
    single_value_batchnorm = None
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
        dim_problem = _dim_problem(layer.type, kwargs, tuple(probe.shape))
        if dim_problem is not None:
            problems.append(f"{path}: {dim_problem}")
            break
        cost = layer_cost(layer.type, kwargs, tuple(probe.shape[1:]))
        if cost is not None and budget is not None:
            needed = budget.bytes_for(parameters + cost[0], activations + cost[1])
            if needed > budget.available:
                problems.append(f"{path}: {budget.refusal(needed, 'the model')}")
                break
        one_value = layer.type == "BatchNorm1d" and math.prod(probe.shape[2:]) == 1
        if one_value and single_value_batchnorm is None:
            single_value_batchnorm = path
        if layer.type in ("Linear", "Conv1d"):
            kwargs.setdefault("init", spec.init)
            kwargs["generator"] = generator
        if layer.type == "Dropout":
            kwargs["generator"] = dropout_generator
        try:
            module = component.factory(**kwargs)
            probe = module.forward(probe)
        except MemoryError:
            problems.append(f"{path}: does not fit in memory")
            break
        except Exception as error:  # any argument the layer refuses, named by the layer
            problems.append(f"{path}: {error}")
            break
        model.append(module)
        parameters += sum(p.numel() for p in module.parameters())
        activations += math.prod(probe.shape[1:])
    else:
        if probe.dim() != 2 or probe.shape[-1] != num_classes:
            wanted = (
                "data is a regression with one target per point"
                if num_classes == 1  # every classification has two classes or more
                else f"data has {num_classes} classes"
            )
            problems.append(
                f"model.layers: the last layer gives {tuple(probe.shape[1:])} outputs, but the "
                f"{wanted} (the last width must be {num_classes})"
            )
            outputs = probe.shape[-1] if probe.dim() == 2 else None
    # the probe moved running statistics of BatchNorm layers: start them afresh
    for module in model.modules():
        if isinstance(module, minidl.BatchNorm1d):
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            module.num_batches_tracked.zero_()
    if problems:
        raise ModelSpecError(problems, outputs if len(problems) == 1 else None)
    return model, BuildFacts(parameters, single_value_batchnorm)


def _batch_size_problem(batch_size: int, n_train: int, batchnorm: str) -> str | None:
    """A batch of one sample that a BatchNorm1d cannot normalise in training, or None."""
    last = n_train % batch_size
    if batch_size > 1 and last != 1:
        return None
    if batch_size == 1:
        where, advice = "every batch holds one", "use a batch size of 2 or more"
    else:
        fits = [b for b in (batch_size - 1, batch_size + 1) if b > 1 and n_train % b != 1]
        where = "the last batch holds one"
        advice = (
            f"use e.g. batch_size = {' or '.join(map(str, fits))} "
            "(any size that leaves n_train % batch_size other than 1)"
        )
    return (
        f"training.batch_size = {batch_size}: {batchnorm} cannot normalise a batch of one "
        f"sample in training, and with {n_train} training points {where}; {advice}"
    )


def check_model(
    spec: ModelSpec,
    data: DataSpec,
    training: TrainingSpec | None = None,
    csv: CsvPoints | None = None,
) -> list[str]:
    """Problems of a layer stack for a data set (and training), as messages naming the field.

    The model is built exactly as training will build it, so every argument
    a layer refuses is reported here. With ``training``, the memory the run
    needs is estimated first, a model without parameters is refused, and so
    is a batch of one sample reaching a BatchNorm1d.
    """
    budget = None
    if training is not None:
        budget = MemoryBudget(
            n_train=data.n_train,
            n_test=data.n_test,
            batch_size=training.batch_size,
            num_classes=data.num_classes,
            element_bytes=DTYPES[training.dtype].itemsize,
            available=available_memory(),
        )
        needed = budget.bytes_for(0, INPUT_FEATURES)
        if needed > budget.available:
            return [f"data.n_train: {budget.refusal(needed, 'the data')}"]
    try:
        _, facts = _build(
            spec, INPUT_FEATURES, data.num_classes, torch.Generator().manual_seed(0), budget
        )
    except ModelSpecError as error:
        if csv is not None and error.outputs is not None and error.outputs < data.num_classes:
            line = csv.first_line_with_label_at_least(error.outputs)
            label = int(csv.y[csv.lines.index(line)]) if line is not None else data.num_classes - 1
            return [
                f"data.path: {csv.source} line {line}: label {label} is out of range for the "
                f"model, whose last layer gives {error.outputs} outputs (labels "
                f"0..{error.outputs - 1}); widen the last layer to {data.num_classes} or "
                "fix the label"
            ]
        return error.problems
    problems = []
    if facts.parameters == 0:
        problems.append(
            "model.layers: the model has no parameters to train; "
            "add a Linear or Conv1d layer"
        )
    if training is not None and facts.single_value_batchnorm is not None:
        problem = _batch_size_problem(
            training.batch_size, data.n_train, facts.single_value_batchnorm
        )
        if problem is not None:
            problems.append(problem)
    return problems


@dataclass
class Experiment:
    """Everything a run needs, built from one scenario."""

    scenario: Scenario
    data: minidl.ClassificationData | minidl.RegressionData
    model: minidl.Sequential
    loss: minidl.Loss
    optimizer: minidl.Optimizer
    trainer: Trainer


def build_data(spec: DataSpec) -> minidl.ClassificationData | minidl.RegressionData:
    if spec.kind == "csv" and spec.target == "continuous":
        from scenarios.datasets.csv_targets import csv_regression_split

        assert spec.path is not None  # the schema read the file
        return csv_regression_split(spec.path, spec.test_fraction, spec.noise, spec.seed)
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
