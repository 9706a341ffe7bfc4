"""Data and training settings: inputs that validate as you type."""

from __future__ import annotations

import math
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Function, Integer, Number
from textual.widgets import Checkbox, Input, Label, Select

from minidl.init import INIT_SCHEMES
from minidl.layers.features import FEATURES
from scenarios.datasets import DATASETS
from scenarios.registry import LOSSES, OPTIMIZERS
from tui.widgets.arguments import (
    format_component,
    format_name_values,
    parse_component,
    parse_name_values,
)

# widget ids cannot hold ^, * or parentheses
FEATURE_IDS = {name: f"f{index}" for index, name in enumerate(FEATURES)}


def _positive_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


def _blank_or_positive(text: str) -> bool:
    return not text.strip() or _positive_number(text)


def _reads(text: str) -> bool:
    try:
        parse_name_values(text)
    except ValueError:
        return False
    return True


def _reads_component(text: str) -> bool:
    try:
        parse_component(text)
    except ValueError:
        return False
    return True


def _arguments_hint(optimizer: str) -> str:
    component = OPTIMIZERS.get(optimizer.lower())
    names = list(component.args) if component is not None else []
    return ", ".join(f"{name}=…" for name in names) or "no arguments"


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
            "optimizer args",
            Input(
                format_name_values({k: v for k, v in optimizer.items() if k != "type"}),
                placeholder=_arguments_hint(optimizer["type"]),
                validators=[Function(_reads, "write name=value pairs, e.g. momentum=0.9")],
                id="optimizer-args",
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
            "scheduler",
            Input(
                format_component(training.get("scheduler")),
                placeholder="none; e.g. StepLR step_size=50, gamma=0.5",
                validators=[Function(_reads_component, "write a name, then name=value pairs")],
                id="scheduler",
            ),
        )
        yield _field(
            "clip grad norm",
            Input(
                "" if training.get("clip_grad_norm") is None else str(training["clip_grad_norm"]),
                placeholder="none; e.g. 1.0",
                validators=[Function(_blank_or_positive, "must be empty or a number > 0")],
                id="clip",
            ),
        )
        yield _field(
            "init",
            Select(
                [(name, name) for name in INIT_SCHEMES],
                value=self.document["model"].get("init", "default"),
                allow_blank=False,
                id="init",
            ),
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

        optimizer: dict[str, Any] = {
            "type": self.query_one("#optimizer", Select).value,
            **parse_name_values(text("optimizer-args")),
        }
        extra: dict[str, Any] = {}
        if (scheduler := parse_component(text("scheduler"))) is not None:
            extra["scheduler"] = scheduler
        if text("clip").strip():
            extra["clip_grad_norm"] = float(text("clip"))
        return {
            "data": {
                **self._data_source(text),
                "noise": float(text("noise")),
                "seed": int(text("data-seed")),
            },
            "training": {
                # not in the form: kept as the scenario had them
                **{k: v for k, v in self.document["training"].items() if k in ("dtype", "shuffle")},
                "loss": self.query_one("#loss", Select).value,
                "optimizer": optimizer,
                "lr": float(text("lr")),
                "batch_size": int(text("batch-size")),
                "epochs": int(text("epochs")),
                "seed": int(text("seed")),
                **extra,
            },
        }

    def init(self) -> str:
        """The initialisation scheme chosen for every layer."""
        return str(self.query_one("#init", Select).value)

    @on(Select.Changed, "#optimizer")
    def _optimizer_chosen(self, event: Select.Changed) -> None:
        """Keep the arguments the new optimizer also takes (weight_decay), drop the others."""
        component = OPTIMIZERS.get(str(event.value).lower())
        field = self.query_one("#optimizer-args", Input)
        field.placeholder = _arguments_hint(str(event.value))
        if component is None:
            return
        try:
            current = parse_name_values(field.value)
        except ValueError:
            return  # the field shows its own error
        kept = {k: v for k, v in current.items() if k in component.args}
        if kept != current:
            field.value = format_name_values(kept)

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
