"""The dialog that adds or edits one layer: a type list with type-ahead, and its arguments.

Adding a layer takes three keys when the defaults suit (``a``, the type's
first letter, Enter); editing opens with the arguments selected, so typing
replaces them (``e``, ``2``, Enter).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from scenarios.registry import LAYERS
from tui.widgets.arguments import parse_name_values
from tui.widgets.ordered_input import OrderedInput

LAYER_TYPES = [component.name for component in LAYERS.values()]

# what a bare value typed in the arguments box means for each layer type
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

# the arguments a new layer of each type starts with, as typed in the box
DEFAULT_ARGUMENTS = {
    "Dropout": "0.5",
    "Conv1d": "out_channels=8, kernel_size=3",
    "Unflatten": "dim=1, unflattened_size=[1, 16]",
}

TYPE_AHEAD_SECONDS = 1.0


def parse_arguments(kind: str, text: str) -> dict[str, Any]:
    """'25' or 'out_channels=8, kernel_size=3' -> arguments; ValueError says what is wrong.

    Values are read as TOML values (a bare word as a string), so the scenario
    schema checks them exactly as it checks a file.
    """
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        main = MAIN_ARGUMENT.get(kind)
        if main is None:
            raise ValueError(f"{kind} takes no main argument; write name=value pairs")
        text = f"{main}={text}"
    return parse_name_values(text)  # a bare word (GELU's tanh) is a string


def arguments_text(layer: dict[str, Any]) -> str:
    """The inverse of ``parse_arguments`` for the arguments box: '25' for a Linear of 25."""
    from tui.widgets.arguments import format_name_values, format_value

    rest = {k: v for k, v in layer.items() if k != "type"}
    main = MAIN_ARGUMENT.get(layer["type"])
    if main is not None and list(rest) == [main]:
        value = rest[main]
        return value if isinstance(value, str) else format_value(value)
    return format_name_values(rest)


def takes_arguments(layer: dict[str, Any]) -> bool:
    """Whether a layer has, or its type takes, arguments worth typing first."""
    kind = layer["type"]
    return len(layer) > 1 or kind in MAIN_ARGUMENT or kind in DEFAULT_ARGUMENTS


class TypeList(OptionList):
    """Layer types; typing letters jumps to the first type that starts with them."""

    def __init__(self, selected: str, *, id: str | None = None) -> None:
        super().__init__(*[Option(Text(name), id=name) for name in LAYER_TYPES], id=id)
        self._selected = selected
        self._typed = ""
        self._typed_at = 0.0

    def on_mount(self) -> None:
        self.highlighted = LAYER_TYPES.index(self._selected)

    def on_key(self, event: events.Key) -> None:
        if event.character is None or not event.character.isalnum():
            return
        now = time.monotonic()
        self._typed = (self._typed if now - self._typed_at < TYPE_AHEAD_SECONDS else "") + (
            event.character.lower()
        )
        self._typed_at = now
        for index, name in enumerate(LAYER_TYPES):
            if name.lower().startswith(self._typed):
                self.highlighted = index
                break
        event.stop()
        event.prevent_default()


class LayerDialog(ModalScreen[dict[str, Any] | None]):
    """Returns the layer table chosen ({'type': 'Linear', 'out_features': 25}), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        layer: dict[str, Any],
        editing: bool = False,
        check: Callable[[dict[str, Any]], list[str]] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.initial = layer
        self.editing = editing
        self.check = check  # what the scenario reader says of a layer, as the lab has it
        # what the user typed for each type, so browsing the list does not lose it
        self._typed_arguments: dict[str, str] = {layer["type"]: arguments_text(layer)}

    def compose(self) -> ComposeResult:
        with Vertical(id="layer-dialog", classes="dialog"):
            yield Static(self.title_text, markup=False, classes="dialog-title")
            yield TypeList(self.initial["type"], id="layer-types")
            yield Static("arguments · Enter accepts · Tab switches · Esc cancels", markup=False)
            yield OrderedInput(
                self._typed_arguments[self.initial["type"]],
                placeholder="25, or name=value, …",
                id="layer-arguments",
                compact=True,
            )
            yield Static("", id="layer-dialog-error", markup=False, classes="error")

    def on_mount(self) -> None:
        # editing a layer with arguments starts in them, selected (e, 2, Enter); any other
        # starts in the type list, where letters pick a type
        if self.editing and takes_arguments(self.initial):
            self.query_one("#layer-arguments", Input).focus()
        else:
            self.query_one(TypeList).focus()

    @property
    def kind(self) -> str:
        option = self.query_one(TypeList).highlighted_option
        return str(option.id) if option is not None else self.initial["type"]

    @on(OptionList.OptionHighlighted, "#layer-types")
    def _type_changed(self, event: OptionList.OptionHighlighted) -> None:
        kind = str(event.option.id)
        box = self.query_one("#layer-arguments", Input)
        if kind in self._typed_arguments:
            box.value = self._typed_arguments[kind]
        elif kind == "Linear":
            box.value = self._typed_arguments.get("Linear", "25")
        else:
            box.value = DEFAULT_ARGUMENTS.get(kind, "")
        self._judge(kind, box.value)

    @on(Input.Changed, "#layer-arguments")
    def _arguments_typed(self, event: Input.Changed) -> None:
        """Remember what was typed for this type, and say at once what is wrong with it."""
        self._typed_arguments[self.kind] = event.value
        event.stop()  # the lab's form does not read this box
        self._judge(self.kind, event.value)

    def _judge(self, kind: str, text: str) -> dict[str, Any] | None:
        """The layer typed, or None after showing what is wrong with it: its syntax, then
        its values as the scenario reader judges them (a width of -3, an unknown name, a
        layer too large for memory)."""
        error = self.query_one("#layer-dialog-error", Static)
        try:
            layer = {"type": kind, **parse_arguments(kind, text)}
        except ValueError as problem:
            error.update(str(problem))
            return None
        problems = self.check(layer) if self.check is not None else []
        error.update("\n".join(problems))
        return None if problems else layer

    @on(OptionList.OptionSelected, "#layer-types")
    @on(Input.Submitted, "#layer-arguments")
    def accept(self, event: events.Event) -> None:
        """Enter takes the layer only while nothing is wrong with it."""
        event.stop()
        layer = self._judge(self.kind, self.query_one("#layer-arguments", Input).value)
        if layer is not None:
            self.dismiss(layer)

    def action_cancel(self) -> None:
        self.dismiss(None)
