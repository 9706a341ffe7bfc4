"""The layer stack as a keyboard-driven list: one row per layer, with its output and parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.health_view import LayerHealth, hanging

MIN_LINES = 3  # the list never shrinks below this many lines, whatever the room


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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list's keys act, and show in the footer, only with no dialog over it."""
        if self.is_attached and self.app.screen is not self.screen:
            return False
        return super().check_action(action, parameters)

    class HealthShown(Message):
        """The rows were drawn again; ``title`` is the model's, naming the health shown."""

        def __init__(self, title: str) -> None:
            super().__init__()
            self.title = title

    _rows: list[LayerRow] = []
    _health: list[LayerHealth] = []
    _health_epoch: int | None = None
    _room: int | None = None  # the most lines the list may take (None: not measured yet)
    brief_health = False  # whether the health shows on the rows themselves, one entry each
    detail_row: int | None = None  # with brief health: the row shown in full, if it fits
    _variants: tuple[list[Text], list[Text], list[int], list[int]] = ([], [], [], [])
    _drawn_width = 0  # the width the rows were laid out for

    def show_health(self, health: list[LayerHealth], epoch: int | None) -> None:
        """Each layer's health with its row (``tui.health_view``); [] takes it away."""
        self._health = health
        self._health_epoch = epoch
        if self._rows:
            self.show_rows(self._rows, self.highlighted)

    def health_of(self, index: int) -> tuple[Text, int] | None:
        """Row ``index``'s full health and the epoch it was observed at, if shown."""
        if index >= len(self._health) or self._health_epoch is None:
            return None
        return self._health[index].full, self._health_epoch

    def set_room(self, lines: int) -> None:
        """The most lines the list may take with the setup under it still in view: every
        layer's health in full under its row when that fits, else one entry on each row
        and the selected layer's in full under its row (when that fits)."""
        if lines == self._room:
            return
        self._room = lines
        self.styles.max_height = max(lines, MIN_LINES)
        if self._health and self._rows:
            self.show_rows(self._rows, self.highlighted)

    def on_resize(self) -> None:
        """The health's layout depends on the width: drawn again when it changes."""
        width = self.scrollable_content_region.width
        if self._health and self._rows and width != self._drawn_width:
            self.show_rows(self._rows, self.highlighted)

    def show_rows(self, rows: list[LayerRow], select: int | None) -> None:
        """Replace the rows, keeping ``select`` highlighted and in view."""
        if [r.text for r in rows] != [r.text for r in self._rows]:
            self._health = []  # another stack: the health shown was the old one's
        self._rows = rows
        self._drawn_width = self.scrollable_content_region.width
        # aligned columns; a longer row (a Conv1d's arguments) puts its output and parameters
        # on a line of their own, in the same columns
        width = min(max((len(row.text) for row in rows), default=0), 16)
        outputs = max((len(row.output) for row in rows if row.output is not None), default=0)
        counts = max((len(f"{row.parameters:,}") for row in rows if row.parameters), default=0)
        texts = []
        for index, row in enumerate(rows):
            text = Text(f"{index:>2} {row.text:<{width}}")
            if len(row.text) > width and (row.output is not None or row.parameters):
                text.append("\n" + " " * (3 + width))
            if row.output is not None:
                text.append(f"  → {row.output}", style="bold")
                if row.parameters:  # the parameter counts in one column
                    text.append(" " * (outputs - len(row.output)))
            if row.parameters:
                text.append(f"  {row.parameters:>{counts},} p", style="dim")
            texts.append(text)
        health = self._health[: len(rows)]
        full = [self._with_full_health(text, h) for text, h in zip(texts, health, strict=False)]
        full += texts[len(health) :]
        brief = self._with_brief_health(texts, health) if health else full
        full_lines = [self._line_count(text) for text in full]
        brief_lines = [self._line_count(text) for text in brief]
        self._variants = (full, brief, full_lines, brief_lines)
        room = self._room
        self.brief_health = bool(health) and room is not None and sum(full_lines) > room
        shown = list(brief if self.brief_health else full)
        select = min(select if select is not None else 0, len(rows) - 1) if rows else None
        self.detail_row = None
        if select is not None and self._detail_fits(select):
            shown[select] = full[select]
            self.detail_row = select
        self.set_options([Option(text) for text in shown])
        if select is not None:
            self.highlighted = select
            self.scroll_to_highlight()
        self.post_message(self.HealthShown(self._model_title()))

    def _detail_fits(self, index: int) -> bool:
        """Whether row ``index``'s full health fits under it, the others' brief."""
        _, _, full_lines, brief_lines = self._variants
        if not self.brief_health or self._room is None or index >= len(self._health):
            return False
        return sum(brief_lines) - brief_lines[index] + full_lines[index] <= self._room

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """With brief health, the selected layer's health in full follows the selection."""
        index = event.option_index
        if not self.brief_health or index == self.detail_row:
            return
        full, brief, _, _ = self._variants
        if self.detail_row is not None and self.detail_row < len(brief):
            self.replace_option_prompt_at_index(self.detail_row, brief[self.detail_row])
            self.detail_row = None
        if self._detail_fits(index):
            self.replace_option_prompt_at_index(index, full[index])
            self.detail_row = index

    def _with_full_health(self, text: Text, health: LayerHealth) -> Text:
        """The row, then its health under it (a long flag wrapped under its own words)."""
        return Text.assemble(text, "\n", hanging(health.full, self.scrollable_content_region.width))

    def _with_brief_health(self, texts: list[Text], health: list[LayerHealth]) -> list[Text]:
        """Each layer's brief health in one column after the rows' last lines (with one
        digit where two do not fit); on a line of its own, in that column, where the row
        leaves no room even for that."""
        ends = [len(text.plain.rsplit("\n", 1)[-1]) for text in texts]
        column = max(ends[: len(health)], default=0) + 1
        width = self.scrollable_content_region.width or column + 8
        briefs = [h.brief for h in health]
        if column + max(b.cell_len for b in briefs) > width:
            briefs = [h.short for h in health]
        shown = []
        for text, end, brief in zip(texts, ends, briefs, strict=False):
            if column + brief.cell_len <= width:
                shown.append(Text.assemble(text, " " * (column - end), brief))
            else:
                indent = " " * max(0, width - brief.cell_len)
                shown.append(Text.assemble(text, "\n", indent, brief))
        return shown + texts[len(health) :]

    def _line_count(self, text: Text) -> int:
        """How many lines a row takes, wrapped at the list's width."""
        width = self.scrollable_content_region.width
        if not width:
            return text.plain.count("\n") + 1
        return len(text.wrap(self.app.console, width))

    def _model_title(self) -> str:
        """The model's title: which epoch the health is from, and where the rest is."""
        if not self._health or self._health_epoch is None:
            return "Model"
        if self.brief_health:
            return f"Model · ∂x at epoch {self._health_epoch}, i: more"
        return f"Model · health at epoch {self._health_epoch}"
