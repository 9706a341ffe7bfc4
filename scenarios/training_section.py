"""The [training] table: loss, optimizer, scheduler and the hyper-parameters of a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

import minidl
from minidl import Parameter
from scenarios import registry
from scenarios.components import (
    ComponentSpec,
    component_arguments,
    construction_problem,
    read_component,
)
from scenarios.field_reader import FieldReader, epoch_count, int_at_least, seed_number

DTYPES = ("float32", "float64")

# losses that fit a real target (the others need classes)
REGRESSION_LOSSES = ("MSELoss", "HuberLoss", "L1Loss")


@dataclass(frozen=True)
class TrainingSpec:
    loss: ComponentSpec
    optimizer: ComponentSpec
    lr: float
    batch_size: int
    epochs: int
    seed: int = 0
    dtype: str = "float32"
    shuffle: bool = True
    scheduler: ComponentSpec | None = None
    clip_grad_norm: float | None = None


def read_training(
    reader: FieldReader, document: dict[str, Any], n_train: int
) -> tuple[TrainingSpec, ComponentSpec | None]:
    """The [training] table; ``n_train`` bounds the batch size.

    Returns the TrainingSpec (with stand-ins for a loss or optimizer that does
    not read) and the loss as read (None when it does not).
    """
    training_table = reader.table(document, "training", "training")
    reader.unknown_keys(
        training_table,
        [
            "loss",
            "optimizer",
            "lr",
            "batch_size",
            "epochs",
            "seed",
            "dtype",
            "shuffle",
            "scheduler",
            "clip_grad_norm",
        ],
        "training",
    )
    clean: set[str] = set()  # the components read without a problem
    loss = None
    if "loss" not in training_table:
        reader.fail("training.loss", f"missing (one of: {registry.names(registry.LOSSES)})")
    else:
        before = len(reader.problems)
        loss = read_component(
            reader, training_table["loss"], "training.loss", registry.LOSSES, "loss"
        )
        if len(reader.problems) == before:
            clean.add("loss")
    optimizer = None
    if "optimizer" not in training_table:
        reader.fail(
            "training.optimizer", f"missing (one of: {registry.names(registry.OPTIMIZERS)})"
        )
    else:
        before = len(reader.problems)
        optimizer = read_component(
            reader,
            training_table["optimizer"],
            "training.optimizer",
            registry.OPTIMIZERS,
            "optimizer",
            reserved=("lr",),
        )
        if len(reader.problems) == before:
            clean.add("optimizer")
    scheduler = None
    if "scheduler" in training_table:
        before = len(reader.problems)
        scheduler = read_component(
            reader,
            training_table["scheduler"],
            "training.scheduler",
            registry.SCHEDULERS,
            "scheduler",
        )
        if len(reader.problems) == before:
            clean.add("scheduler")
    batch_size = reader.field(training_table, "batch_size", "training", int_at_least(1))
    if batch_size is not None and batch_size > n_train:
        reader.fail(
            "training.batch_size",
            f"is larger than the training set (data.n_train = {n_train})",
            batch_size,
        )
    training = TrainingSpec(
        loss=loss or ComponentSpec("MSELoss"),
        optimizer=optimizer or ComponentSpec("SGD"),
        lr=reader.field(training_table, "lr", "training", registry.positive_float),
        batch_size=batch_size or 1,
        epochs=reader.field(training_table, "epochs", "training", epoch_count),
        seed=reader.field(training_table, "seed", "training", seed_number, 0),
        dtype=reader.field(
            training_table, "dtype", "training", registry.choice(*DTYPES), "float32"
        ),
        shuffle=reader.field(training_table, "shuffle", "training", registry.boolean, True),
        scheduler=scheduler,
        clip_grad_norm=reader.field(
            training_table, "clip_grad_norm", "training", registry.positive_float, None
        ),
    )
    reader.problems.extend(_construction_problems(training, clean))
    return training, loss


def _construction_problems(training: TrainingSpec, clean: set[str]) -> list[str]:
    """What the loss, optimizer and scheduler constructors refuse in arguments that each
    read well (nesterov without momentum), so a run never fails on them once started."""
    lr = training.lr if training.lr is not None else 0.01  # lr's own problem is told apart

    def probe() -> list[Parameter]:
        return [Parameter(torch.zeros(1))]

    makers: dict[str, tuple[ComponentSpec | None, dict, Callable[..., object]]] = {
        "loss": (training.loss, registry.LOSSES, lambda factory, args: factory(**args)),
        "optimizer": (
            training.optimizer,
            registry.OPTIMIZERS,
            lambda factory, args: factory(probe(), lr=lr, **args),
        ),
        "scheduler": (
            training.scheduler,
            registry.SCHEDULERS,
            lambda factory, args: factory(minidl.SGD(probe(), lr=lr), **args),
        ),
    }
    problems = []
    for name, (spec, table, make) in makers.items():
        component = registry.lookup(table, spec.type) if spec is not None else None
        if name not in clean or spec is None or component is None:
            continue
        problem = construction_problem(
            spec, component, f"training.{name}", partial(make, component.factory)
        )
        if problem is not None:
            problems.append(problem)
    return problems


def training_to_table(training: TrainingSpec) -> dict[str, Any]:
    """The [training] table of a saved scenario file (``read_training`` reads it back)."""

    def component(spec: ComponentSpec) -> str | dict[str, Any]:
        return {"type": spec.type, **component_arguments(spec)} if spec.args else spec.type

    table: dict[str, Any] = {
        "loss": component(training.loss),
        "optimizer": component(training.optimizer),
        "lr": training.lr,
        "batch_size": training.batch_size,
        "epochs": training.epochs,
        "seed": training.seed,
        "dtype": training.dtype,
        "shuffle": training.shuffle,
    }
    if training.scheduler is not None:
        table["scheduler"] = component(training.scheduler)
    if training.clip_grad_norm is not None:
        table["clip_grad_norm"] = training.clip_grad_norm
    return table
