"""The model panel: the Sequential as a list of layers, edited with single keys.

``a`` adds a layer after the selection (a type list with type-ahead), ``e``
or Enter edits it, ``d`` removes it, ``+``/``-`` change a Linear's width in
place and Shift+↑/↓ move it. The selection follows the layer just changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, Static

import minidl
from tui.widgets.layer_dialog import LayerDialog, parse_arguments
from tui.widgets.layer_list import LayerList, LayerRow, describe_layer
from tui.wording import folded_chain

__all__ = ["PRESETS", "ModelPanel", "describe_layer", "parse_arguments"]

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

# input widths are derived from the layer before (or the input features) in the lab
DERIVED = ("in_features", "num_features", "in_channels")
# the argument that +/- changes, per layer type
WIDTH_ARGUMENT = {"Linear": "out_features", "Conv1d": "out_channels"}
DEFAULT_WIDTH = 25


def without_derived(layer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in layer.items() if k not in DERIVED}


def short_name(layer: dict[str, Any]) -> str:
    """A layer in the chain under the rows: its type and width ('Linear 25', 'Conv1d 8')."""
    width = layer.get(WIDTH_ARGUMENT.get(layer["type"], ""))
    return layer["type"] if width is None else f"{layer['type']} {width}"


def _shape(tensor: torch.Tensor) -> str:
    """A sample's shape: '25' for a vector, '8×7' for channels × length."""
    return "×".join(str(size) for size in tensor.shape[1:])


def layer_outputs(model: minidl.Sequential) -> list[tuple[str, int]]:
    """Each layer's output shape and parameter count, by pushing two zero points through a
    model built only to be described."""
    model.eval()
    probe = torch.zeros(2, 2)
    described = []
    for module in model:
        probe = module.forward(probe)
        described.append((_shape(probe), module.num_parameters()))
    return described


class ModelPanel(Vertical):
    """Edits a list of layer tables (the scenario file's ``model.layers``)."""

    class Changed(Message):
        """The layer list changed (added, removed, moved or replaced)."""

    class Refused(Message):
        """A key on the list did nothing; ``why`` says so in the status line."""

        def __init__(self, why: str) -> None:
            super().__init__()
            self.why = why

    def __init__(self, layers: list[dict[str, Any]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs = [without_derived(layer) for layer in layers]
        self.class_count: int | None = None  # the data's, when known: the last Linear's width
        self._rows: list[LayerRow] = [LayerRow(describe_layer(layer)) for layer in self.specs]
        self._select: int | None = 0
        # (index, layer, inserted) -> what the scenario reader says of that layer there
        self.layer_checker: Callable[[int, dict[str, Any], bool], list[str]] | None = None

    def compose(self) -> ComposeResult:
        yield Label("Model", id="model-title", classes="section", markup=False)
        yield LayerList(id="layer-list")
        yield Static("", id="model-summary", markup=False)

    def on_mount(self) -> None:
        self._refill()

    @property
    def layer_list(self) -> LayerList:
        return self.query_one(LayerList)

    def set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        """Replace the stack and select ``select`` (the layer just changed)."""
        self.specs = [without_derived(layer) for layer in layers]
        self._rows = [LayerRow(describe_layer(layer)) for layer in self.specs]
        self._select = select
        self._refill()
        self.post_message(self.Changed())

    def _refill(self) -> None:
        self.layer_list.show_rows(self._rows, self._select)

    @property
    def selected(self) -> int | None:
        index = self.layer_list.highlighted
        return index if index is not None and 0 <= index < len(self.specs) else None

    def show_model(
        self, model: minidl.Sequential | None, in_features: int, problems: list[str]
    ) -> None:
        """Rows with each layer's output and parameters, and the chain under them; or the
        problems of a stack that does not build."""
        self._select = self.selected
        rows = self._rows
        summary = self.query_one("#model-summary", Static)
        if model is None:
            self._rows = [LayerRow(describe_layer(layer)) for layer in self.specs]
            text = "\n".join(problems) or "the settings need fixing first"
            summary.set_class(bool(problems), "error")
        else:
            outputs = layer_outputs(model)[len(model) - len(self.specs) :]
            self._rows = [
                LayerRow(describe_layer(layer), output, parameters)
                for layer, (output, parameters) in zip(self.specs, outputs, strict=True)
            ]
            layers = folded_chain([short_name(layer) for layer in self.specs])
            chain = " → ".join([str(in_features), *([layers] if layers else [])])
            final = outputs[-1][0] if outputs else str(in_features)
            text = f"{chain} → {final} · {model.num_parameters():,} parameters"
            summary.remove_class("error")
        # updates re-lay the screen out (and redraw the charts): only on change
        if str(summary.content) != text:
            summary.update(text)
        if self._rows != rows or self.layer_list.option_count != len(self._rows):
            self._refill()

    @on(LayerList.HealthShown)
    def _retitle(self, event: LayerList.HealthShown) -> None:
        """The title says which epoch the rows' health is from (it bubbles on to the form,
        which gives the list its room)."""
        title = self.query_one("#model-title", Label)
        if str(title.content) != event.title:
            title.update(event.title)

    # --- keys ---------------------------------------------------------------
    @on(LayerList.Requested)
    def _requested(self, event: LayerList.Requested) -> None:
        event.stop()
        {
            "add": self.ask_add,
            "edit": self.ask_edit,
            "remove": self.remove_layer,
            "wider": lambda: self.resize(1),
            "narrower": lambda: self.resize(-1),
            "up": lambda: self.move(-1),
            "down": lambda: self.move(1),
            "inside": self.show_inside,
        }[event.what]()

    def show_inside(self) -> None:
        """The selected layer's equations, backward source and per-unit maps."""
        from tui.widgets.layer_inside import open_inside

        index = self.selected
        if index is not None and index < len(self.specs):
            open_inside(self.app, index, self.specs[index]["type"])

    @on(LayerList.OptionSelected)
    def _enter(self, event: LayerList.OptionSelected) -> None:
        event.stop()
        self.ask_edit()

    def ask_add(self) -> None:
        """The type list, starting at Linear with the width of the layers around."""
        position = len(self.specs) if self.selected is None else self.selected + 1
        before = self.specs[:position]
        widths = [layer["out_features"] for layer in before if "out_features" in layer]
        width = widths[-1] if widths else DEFAULT_WIDTH
        # a Linear with no Linear after it is the output: one per class, and the output it
        # replaces becomes a hidden layer as wide as those before it
        output = self.class_count is not None and not any(
            layer["type"] == "Linear" for layer in self.specs[position:]
        )
        if output:
            width = self.class_count

        def add(layer: dict[str, Any] | None) -> None:
            if layer is None:
                return
            specs = [dict(s) for s in self.specs]
            if output and layer["type"] == "Linear":
                linears = [i for i in range(position) if specs[i]["type"] == "Linear"]
                if linears and specs[linears[-1]].get("out_features") == self.class_count:
                    hidden = [specs[i].get("out_features") for i in linears[:-1]]
                    specs[linears[-1]]["out_features"] = (hidden or [DEFAULT_WIDTH])[-1]
            self.set_layers([*specs[:position], layer, *specs[position:]], position)

        layer = {"type": "Linear", "out_features": width}
        self.app.push_screen(
            LayerDialog(
                f"Add a layer at position {position}", layer, check=self._checker(position, True)
            ),
            add,
        )

    def ask_edit(self) -> None:
        index = self.selected
        if index is None:
            self.ask_add()
            return

        def replace(layer: dict[str, Any] | None) -> None:
            if layer is not None:
                self.set_layers([*self.specs[:index], layer, *self.specs[index + 1 :]], index)

        self.app.push_screen(
            LayerDialog(
                f"Edit layer {index}",
                self.specs[index],
                editing=True,
                check=self._checker(index, False),
            ),
            replace,
        )

    def _checker(self, index: int, insert: bool) -> Callable[[dict[str, Any]], list[str]] | None:
        checker = self.layer_checker
        if checker is None:
            return None
        return lambda layer: checker(index, layer, insert)

    def remove_layer(self) -> None:
        index = self.selected
        if index is not None:
            self.set_layers(self.specs[:index] + self.specs[index + 1 :], max(0, index - 1))

    def resize(self, step: int) -> None:
        """A Linear's (or Conv1d's) width, one more or one less, in place."""
        index = self.selected
        if index is None:
            return
        layer = dict(self.specs[index])
        name = WIDTH_ARGUMENT.get(layer["type"])
        if name is None or not isinstance(layer.get(name), int):
            self.app.bell()
            self.post_message(
                self.Refused(f"+/- change a width: a {layer['type']} has none (Linear, Conv1d)")
            )
            return
        output = layer["type"] == "Linear" and not any(
            spec["type"] == "Linear" for spec in self.specs[index + 1 :]
        )
        if output and self.class_count is not None:
            self.app.bell()
            outputs = "one output" if self.class_count == 1 else f"{self.class_count} outputs"
            self.post_message(
                self.Refused(
                    f"the last Linear is the output: {outputs}, as the data set needs; "
                    "a hidden layer's width changes with +/-"
                )
            )
            return
        layer[name] = max(1, layer[name] + step)
        self.set_layers([*self.specs[:index], layer, *self.specs[index + 1 :]], index)

    def move(self, step: int) -> None:
        index = self.selected
        if index is None or not 0 <= index + step < len(self.specs):
            return
        layers = list(self.specs)
        layers[index], layers[index + step] = layers[index + step], layers[index]
        self.set_layers(layers, index + step)

    def set_output_width(self, classes: int) -> None:
        """Keep one output per class: the last Linear's width follows the data set."""
        self.class_count = classes
        for index in range(len(self.specs) - 1, -1, -1):
            if self.specs[index]["type"] == "Linear":
                if self.specs[index].get("out_features") != classes:
                    specs = [dict(s) for s in self.specs]
                    specs[index]["out_features"] = classes
                    self.set_layers(specs, self.selected)
                return

    def apply_preset(self, name: str) -> None:
        self.set_layers(PRESETS[name], 0)
