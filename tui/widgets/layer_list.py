"""The layer stack as a keyboard-driven list: one row per layer, with its output and parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class LayerRow:
    """What a row shows: the layer as written, what it outputs and its parameter count
    (None for both when the stack does not build)."""

    text: str
    output: str | None = None
    parameters: int | None = None


def describe_layer(layer: dict[str, Any]) -> str:
    """'Linear 25', 'Dropout p=0.2', 'Conv1d out_channels=8, kernel_size=3'."""
    rest = {k: v for k, v in layer.items() if k != "type"}
    if layer["type"] == "Linear" and list(rest) == ["out_features"]:
        return f"Linear {rest['out_features']}"
    return " ".join([layer["type"], ", ".join(f"{k}={v}" for k, v in rest.items())]).strip()


class LayerList(OptionList):
    """Rows of layers; single keys ask the model panel to add, edit, remove, move or resize.

    The list only reports what was asked (a ``Requested`` message); the model
    panel changes the stack and selects the changed row again.
    """

    BINDINGS = [
        Binding("a", "request('add')", "Add", tooltip="add a layer after the selected one"),
        Binding("insert", "request('add')", "Add", show=False, tooltip="add a layer"),
        Binding("e", "request('edit')", "Edit", tooltip="edit the selected layer"),
        Binding("d", "request('remove')", "Del", tooltip="remove the selected layer"),
        Binding("delete", "request('remove')", "Del", show=False, tooltip="remove it"),
        Binding(
            "plus,equals_sign",
            "request('wider')",
            "Width ±",
            key_display="+/-",
            tooltip="a Linear's (or Conv1d's) width one more / one less",
        ),
        Binding(
            "minus",
            "request('narrower')",
            "Narrower",
            show=False,
            tooltip="a Linear's (or Conv1d's) width one more / one less",  # one help row
        ),
        Binding(
            "i",
            "request('inside')",
            "Inside",
            show=False,
            tooltip="inside the selected layer: its maths, its backward, each unit's map",
        ),
        Binding(
            "shift+up,left_square_bracket",
            "request('up')",
            "Move up",
            show=False,
            tooltip="move the selected layer up",
        ),
        Binding(
            "shift+down,right_square_bracket",
            "request('down')",
            "Move down",
            show=False,
            tooltip="move the selected layer down",
        ),
    ]

    class Requested(Message):
        """A key asked for ``what`` (add, edit, remove, wider, narrower, up, down)."""

        def __init__(self, what: str) -> None:
            super().__init__()
            self.what = what

    def action_request(self, what: str) -> None:
        self.post_message(self.Requested(what))

    _rows: list[LayerRow] = []
    _health: list[Text] = []

    def show_health(self, health: list[Text], epoch: int | None) -> None:
        """Each layer's health under its row (``tui.health_view``); [] takes it away."""
        self._health = health
        self.border_subtitle = None if epoch is None else f"health at epoch {epoch}"
        if self._rows:
            self.show_rows(self._rows, self.highlighted)

    def show_rows(self, rows: list[LayerRow], select: int | None) -> None:
        """Replace the rows, keeping ``select`` highlighted and in view."""
        if [r.text for r in rows] != [r.text for r in self._rows]:
            self._health = []  # another stack: the health shown was the old one's
        self._rows = rows
        # aligned columns; a longer row (a Conv1d's arguments) puts its output and parameters
        # on a line of their own, in the same columns
        width = min(max((len(row.text) for row in rows), default=0), 16)
        options = []
        for index, row in enumerate(rows):
            text = Text(f"{index:>2} {row.text:<{width}}")
            if len(row.text) > width and (row.output is not None or row.parameters):
                text.append("\n" + " " * (3 + width))
            if row.output is not None:
                text.append(f"  → {row.output}", style="bold")
            if row.parameters:
                text.append(f"  {row.parameters:,} p", style="dim")
            if index < len(self._health):
                text.append("\n")
                text.append_text(self._health[index])
            options.append(Option(text))
        self.set_options(options)
        if rows:
            self.highlighted = min(select if select is not None else 0, len(rows) - 1)
            self.scroll_to_highlight()
