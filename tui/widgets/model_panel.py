"""The model panel: the Sequential as an ordered list of layers to add, remove and move."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, ListItem, ListView, Select

from scenarios.registry import LAYERS
from tui.widgets.arguments import parse_name_values

PRESETS: dict[str, list[dict[str, Any]]] = {
    "classic 3×25 ReLU": [
        {"type": "Linear", "out_features": 25},
        {"type": "ReLU"},
        {"type": "Linear", "out_features": 25},
        {"type": "ReLU"},
        {"type": "Linear", "out_features": 25},
        {"type": "ReLU"},
        {"type": "Linear", "out_features": 2},
    ],
    "3×25 Tanh, Tanh out": [
        {"type": "Linear", "out_features": 25},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": 25},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": 25},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": 2},
        {"type": "Tanh"},
    ],
    "one hidden layer of 8": [
        {"type": "Linear", "out_features": 8},
        {"type": "ReLU"},
        {"type": "Linear", "out_features": 2},
    ],
}


# what a bare number typed in the arguments box means for each layer type
MAIN_ARGUMENT = {
    "Linear": "out_features",
    "Dropout": "p",
    "LeakyReLU": "negative_slope",
    "ELU": "alpha",
    "Conv1d": "out_channels",
    "Softmax": "dim",
    "BatchNorm1d": "momentum",
    "GELU": "approximate",
}


def parse_arguments(kind: str, text: str) -> dict[str, Any]:
    """'25' or 'out_channels=8, kernel_size=3' -> arguments; ValueError says what is wrong.

    Values are read as TOML values, so the scenario schema checks them
    exactly as it checks a file.
    """
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        main = MAIN_ARGUMENT.get(kind)
        if main is None:
            raise ValueError(f"{kind} takes no main argument; write name=value pairs")
        text = f"{main}={text}"
    if kind == "GELU":  # its one argument is a word: quote it for TOML
        name, value = text.split("=", 1)
        value = value.strip()
        text = f'{name}="{value}"' if not value.startswith('"') else text
    return parse_name_values(text)


# input widths are derived from the layer before (or the input features) in the lab
DERIVED = ("in_features", "num_features", "in_channels")


def without_derived(layer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in layer.items() if k not in DERIVED}


def describe_layer(layer: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in layer.items() if k not in ("type", "in_features"))
    return f"{layer['type']}({args})"


class ModelPanel(Vertical):
    """Edits a list of layer tables (the scenario file's ``model.layers``)."""

    class Changed(Message):
        """The layer list changed (added, removed, moved or replaced)."""

    def __init__(self, layers: list[dict[str, Any]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs = [without_derived(layer) for layer in layers]

    def compose(self) -> ComposeResult:
        yield ListView(id="layer-list")
        with Horizontal(classes="row"):
            yield Select(
                [(c.name, c.name) for c in LAYERS.values()],
                value="Linear",
                allow_blank=False,
                id="layer-type",
            )
            yield Input("25", placeholder="25 or name=value, …", id="layer-width")
        with Horizontal(classes="row"):
            yield Button("Add", id="layer-add", variant="primary")
            yield Button("Edit", id="layer-edit")
            yield Button("Remove", id="layer-remove")
            yield Button("▲", id="layer-up")
            yield Button("▼", id="layer-down")
        yield Select([(name, name) for name in PRESETS], prompt="preset…", id="layer-preset")
        yield Label("", id="model-summary")

    def on_mount(self) -> None:
        self._refill()

    def set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        self.specs = [without_derived(layer) for layer in layers]
        self._refill(select)
        self.post_message(self.Changed())

    def _refill(self, select: int | None = None) -> None:
        view = self.query_one("#layer-list", ListView)
        view.clear()
        for index, layer in enumerate(self.specs):
            view.append(ListItem(Label(f"{index:>2} {describe_layer(layer)}")))
        if self.specs:
            view.index = min(select if select is not None else 0, len(self.specs) - 1)

    @property
    def selected(self) -> int | None:
        index = self.query_one("#layer-list", ListView).index
        return index if index is not None and 0 <= index < len(self.specs) else None

    def show_summary(self, text: str, ok: bool) -> None:
        label = self.query_one("#model-summary", Label)
        label.update(text)
        label.set_class(not ok, "error")

    def _typed_layer(self) -> dict[str, Any] | None:
        kind = str(self.query_one("#layer-type", Select).value)
        try:
            arguments = parse_arguments(kind, self.query_one("#layer-width", Input).value)
        except ValueError as error:
            self.show_summary(str(error), ok=False)
            return None
        return {"type": kind, **arguments}

    @on(Button.Pressed, "#layer-add")
    def add_layer(self) -> None:
        layer = self._typed_layer()
        if layer is None:
            return
        position = len(self.specs) if self.selected is None else self.selected + 1
        self.set_layers([*self.specs[:position], layer, *self.specs[position:]], position)

    @on(Button.Pressed, "#layer-edit")
    def edit_layer(self) -> None:
        index, layer = self.selected, self._typed_layer()
        if index is not None and layer is not None:
            self.set_layers([*self.specs[:index], layer, *self.specs[index + 1 :]], index)

    @on(Select.Changed, "#layer-type")
    def _suggest_arguments(self, event: Select.Changed) -> None:
        """Clear the argument box for layers that take none, so Add just works."""
        if event.value not in MAIN_ARGUMENT and event.value != "Unflatten":
            self.query_one("#layer-width", Input).value = ""

    def set_output_width(self, classes: int) -> None:
        """Keep one output per class: the last Linear's width follows the data set."""
        for index in range(len(self.specs) - 1, -1, -1):
            if self.specs[index]["type"] == "Linear":
                if self.specs[index].get("out_features") != classes:
                    specs = [dict(s) for s in self.specs]
                    specs[index]["out_features"] = classes
                    self.set_layers(specs, self.selected)
                return

    @on(Button.Pressed, "#layer-remove")
    def remove_layer(self) -> None:
        index = self.selected
        if index is not None:
            self.set_layers(self.specs[:index] + self.specs[index + 1 :], max(0, index - 1))

    @on(Button.Pressed, "#layer-up")
    def move_up(self) -> None:
        self._move(-1)

    @on(Button.Pressed, "#layer-down")
    def move_down(self) -> None:
        self._move(1)

    def _move(self, step: int) -> None:
        index = self.selected
        if index is None or not 0 <= index + step < len(self.specs):
            return
        layers = list(self.specs)
        layers[index], layers[index + step] = layers[index + step], layers[index]
        self.set_layers(layers, index + step)

    @on(Select.Changed, "#layer-preset")
    def apply_preset(self, event: Select.Changed) -> None:
        if event.value in PRESETS:
            self.set_layers(PRESETS[event.value])
