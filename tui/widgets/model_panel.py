"""The model panel: the Sequential as an ordered list of layers to add, remove and move."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import Integer
from textual.widgets import Button, Input, Label, ListItem, ListView, Select

from scenarios.registry import LAYERS

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


def describe_layer(layer: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in layer.items() if k not in ("type", "in_features"))
    return f"{layer['type']}({args})"


class ModelPanel(Vertical):
    """Edits a list of layer tables (the scenario file's ``model.layers``)."""

    class Changed(Message):
        """The layer list changed (added, removed, moved or replaced)."""

    def __init__(self, layers: list[dict[str, Any]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs = [dict(layer) for layer in layers]

    def compose(self) -> ComposeResult:
        yield ListView(id="layer-list")
        with Horizontal(classes="row"):
            yield Select(
                [(c.name, c.name) for c in LAYERS.values()],
                value="Linear",
                allow_blank=False,
                id="layer-type",
            )
            yield Input(
                "25", placeholder="width", validators=[Integer(minimum=1)], id="layer-width"
            )
        with Horizontal(classes="row"):
            yield Button("Add", id="layer-add", variant="primary")
            yield Button("Remove", id="layer-remove")
            yield Button("▲", id="layer-up")
            yield Button("▼", id="layer-down")
        yield Select([(name, name) for name in PRESETS], prompt="preset…", id="layer-preset")
        yield Label("", id="model-summary")

    def on_mount(self) -> None:
        self._refill()

    def set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        self.specs = [dict(layer) for layer in layers]
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

    @on(Button.Pressed, "#layer-add")
    def add_layer(self) -> None:
        kind = self.query_one("#layer-type", Select).value
        layer: dict[str, Any] = {"type": kind}
        if kind == "Linear":
            width = self.query_one("#layer-width", Input)
            if not width.is_valid:
                self.show_summary("width must be an integer ≥ 1", ok=False)
                return
            layer["out_features"] = int(width.value)
        position = len(self.specs) if self.selected is None else self.selected + 1
        self.set_layers([*self.specs[:position], layer, *self.specs[position:]], position)

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
