"""Data and training settings: inputs that validate as you type."""

from __future__ import annotations

import math
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Function, Integer, Number
from textual.widgets import Checkbox, Input, Label, Select

from minidl.layers.features import FEATURES
from scenarios.datasets import DATASETS
from scenarios.registry import LOSSES, OPTIMIZERS

# widget ids cannot hold ^, * or parentheses
FEATURE_IDS = {name: f"f{index}" for index, name in enumerate(FEATURES)}


def _positive_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


def _field(label: str, widget) -> Horizontal:
    return Horizontal(Label(label, classes="field-label"), widget, classes="field")


class SettingsPanel(Vertical):
    """The [data] and [training] tables of a scenario, as a form."""

    def __init__(self, document: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.document = document

    def compose(self) -> ComposeResult:
        data, training = self.document["data"], self.document["training"]
        optimizer = training["optimizer"]
        optimizer = optimizer if isinstance(optimizer, dict) else {"type": optimizer}
        loss = training["loss"]
        loss = loss if isinstance(loss, dict) else {"type": loss}
        yield Label("Data", classes="section")
        yield _field(
            "data set",
            Select(
                [(k, k) for k in (*DATASETS, "csv")],
                value=data["kind"],
                allow_blank=False,
                id="data-kind",
            ),
        )
        yield _field(
            "CSV file",
            Input(
                data.get("path") or "", placeholder="x1,x2,label rows (data set csv)", id="csv-path"
            ),
        )
        yield _field(
            "train / test",
            Horizontal(
                Input(
                    str(data.get("n_train", 1000)), validators=[Integer(minimum=1)], id="n-train"
                ),
                Input(str(data.get("n_test", 1000)), validators=[Integer(minimum=1)], id="n-test"),
                classes="pair",
            ),
        )
        yield _field(
            "label noise",
            Input(
                str(data.get("noise", 0.0)), validators=[Number(minimum=0, maximum=1)], id="noise"
            ),
        )
        yield _field(
            "data seed",
            Input(str(data.get("seed", 0)), validators=[Integer(minimum=0)], id="data-seed"),
        )
        chosen = set(self.document["model"].get("features") or ("x1", "x2"))
        yield Label("Input features", classes="section")
        with Horizontal(id="features"):
            for name in FEATURES:
                yield Checkbox(name, name in chosen, id=f"feature-{FEATURE_IDS[name]}")
        yield Label("Training", classes="section")
        yield _field(
            "loss",
            Select(
                [(c.name, c.name) for c in LOSSES.values()],
                value=loss["type"],
                allow_blank=False,
                id="loss",
            ),
        )
        yield _field(
            "optimizer",
            Select(
                [(c.name, c.name) for c in OPTIMIZERS.values()],
                value=optimizer["type"],
                allow_blank=False,
                id="optimizer",
            ),
        )
        yield _field(
            "momentum",
            Input(
                str(optimizer.get("momentum", 0.0)), validators=[Number(minimum=0)], id="momentum"
            ),
        )
        yield _field(
            "learning rate",
            Input(
                str(training["lr"]),
                validators=[Function(_positive_number, "must be a number > 0")],
                id="lr",
            ),
        )
        yield _field(
            "batch size",
            Input(str(training["batch_size"]), validators=[Integer(minimum=1)], id="batch-size"),
        )
        yield _field(
            "epochs", Input(str(training["epochs"]), validators=[Integer(minimum=1)], id="epochs")
        )
        yield _field(
            "seed", Input(str(training.get("seed", 0)), validators=[Integer(minimum=0)], id="seed")
        )
        yield Label("", id="settings-errors")

    def features(self) -> list[str]:
        """The ticked input features; [] means the raw point (x1, x2)."""
        chosen = [
            name
            for name in FEATURES
            if self.query_one(f"#feature-{FEATURE_IDS[name]}", Checkbox).value
        ]
        return [] if chosen == ["x1", "x2"] else chosen

    def invalid_inputs(self) -> list[str]:
        """One line per input whose text does not validate, naming the input and the reason."""
        problems = []
        for widget in self.query(Input):
            result = widget.validate(widget.value)
            if result is not None and not result.is_valid:
                reasons = "; ".join(result.failure_descriptions)
                problems.append(f"{widget.id}: {widget.value!r}: {reasons}")
        if not any(box.value for box in self.query(Checkbox)):
            problems.append("input features: tick at least one")
        return problems

    def read(self) -> dict[str, Any]:
        """The form as [data] and [training] tables (call only when every input is valid)."""

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        momentum = float(text("momentum"))
        optimizer: dict[str, Any] = {"type": self.query_one("#optimizer", Select).value}
        if momentum:
            optimizer["momentum"] = momentum
        return {
            "data": {
                **self._data_source(text),
                "noise": float(text("noise")),
                "seed": int(text("data-seed")),
            },
            "training": {
                **{k: v for k, v in self.document["training"].items() if k in ("dtype", "shuffle")},
                "loss": self.query_one("#loss", Select).value,
                "optimizer": optimizer,
                "lr": float(text("lr")),
                "batch_size": int(text("batch-size")),
                "epochs": int(text("epochs")),
                "seed": int(text("seed")),
            },
        }

    def _data_source(self, text) -> dict[str, Any]:
        kind = self.query_one("#data-kind", Select).value
        if kind == "csv":
            n_train, n_test = int(text("n-train")), int(text("n-test"))
            return {
                "kind": "csv",
                "path": text("csv-path"),
                "test_fraction": n_test / (n_train + n_test),
            }
        return {"kind": kind, "n_train": int(text("n-train")), "n_test": int(text("n-test"))}

    def show_errors(self, problems: list[str]) -> None:
        label = self.query_one("#settings-errors", Label)
        label.update("\n".join(problems))
        label.set_class(bool(problems), "error")
