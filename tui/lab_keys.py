"""The lab's keys: which work where, the help screen's list, the command palette.

Letters act only when no field has the focus (a field types them); Escape leaves a
field; ctrl+s, ctrl+o and F1 work everywhere, as no field uses them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Select, Switch

from scenarios.datasets import DATASETS
from scenarios.registry import OPTIMIZERS
from tui.widgets.help_screen import HelpScreen
from tui.widgets.layer_inside import LayerInsideScreen
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import PRESETS, ModelPanel

if TYPE_CHECKING:
    from textual.app import App

    _Base = App
else:
    _Base = object

# keys that type into a field: they act only when no field has the focus
LETTER_ACTIONS = {
    "train", "pause", "step", "stop", "reset", "more", "zoom", "compare", "export",
    "save_weights", "load_weights", "log_scale", "help", "quit",
}  # fmt: skip


KEY_BINDINGS = [
    Binding("t", "train", "Train", tooltip="train every epoch left (resumes a pause)"),
    Binding("p", "pause", "Pause", tooltip="pause or resume the run"),
    Binding("s", "step", "Step", tooltip="train one epoch"),
    Binding("x", "stop", "Stop", show=False, tooltip="stop the run (within one batch)"),
    Binding("r", "reset", "Reset", show=False, tooltip="new weights from the seed"),
    Binding("m", "more", "More", tooltip="the other settings, or back to the model"),
    Binding("z", "zoom", "Zoom", show=False, tooltip="charts and map over the whole width"),
    Binding("g", "log_scale", "Log loss", show=False, tooltip="loss chart: log or linear scale"),
    Binding("v", "compare", "vs torch", show=False, tooltip="vs torch on/off (next reset)"),
    Binding("h", "export", "Export", show=False, tooltip="export the history (JSON, CSV)"),
    Binding("w", "save_weights", "Save weights", show=False, tooltip="save the weights"),
    Binding("l", "load_weights", "Load weights", show=False, tooltip="load weights"),
    Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    Binding("f1", "help", "Help", show=False, tooltip="this help (in a field too)"),
    Binding("ctrl+s", "save", "Save", show=False, tooltip="save the scenario"),
    Binding("ctrl+o", "load", "Open", show=False, tooltip="open a scenario"),
    Binding(
        "escape",
        "leave_field",
        "Back",
        tooltip="leave the field (or the zoom, or the other settings)",
    ),
    Binding("q", "quit", "Quit", show=False, tooltip="quit"),
]


class LabKeys(_Base):
    """The key handling of the lab (mixed into the app, whose bindings are KEY_BINDINGS)."""

    form_screen: Screen
    scenario: object

    if TYPE_CHECKING:

        def revalidate(self) -> None: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Letters type into a field, so they are not offered while one has the focus, nor
        under a dialog; Escape is offered wherever it leads back to the layer list."""
        in_field = isinstance(self.focused, Input)
        if action in ("train", "step") and self.scenario is None:
            return None  # shown dimmed; the status line says why
        if action in getattr(self.screen, "APP_ACTIONS", ()):
            return True  # a screen over the form that offers the run keys (inside a layer)
        if action in LETTER_ACTIONS:
            return (not in_field and self.screen is self.form_screen) or action == "help"
        if action == "leave_field":
            return self.screen is self.form_screen and (
                self.more_shown
                or self.form_screen.has_class("-zoomed")
                or not isinstance(self.focused, LayerList)
            )
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    @property
    def more_shown(self) -> bool:
        """Whether m has brought the other settings forward."""
        return self.form_screen.has_class("-more")

    def action_leave_field(self) -> None:
        """Escape: out of a field to the layer list; from the other settings, out of the
        field first, then back to the model; out of the zoom."""
        if self.form_screen.has_class("-zoomed"):
            self.action_zoom()
            return
        if self.more_shown:
            if isinstance(self.focused, Input):
                self.set_focus(None)
            else:
                self.action_more()
            return
        self.query_one(LayerList).focus()

    def action_more(self) -> None:
        """The other settings in the model's place, or back (on a tall terminal both show:
        this moves the focus). The focus lands on the first input feature's box, so m, t
        and the other letters still act; Tab and Shift+Tab reach the fields."""
        if self.more_shown:
            self.form_screen.remove_class("-more")
            self.query_one(LayerList).focus()
            self.query_one("#left", VerticalScroll).scroll_home(animate=False)
        else:
            self.form_screen.add_class("-more")
            # not a text field: the next m (back) or t (train) must act, not be typed
            self.query_one("#features Checkbox", Checkbox).focus()
        self.refresh_bindings()
        self.revalidate()  # the status line's '(press m: more settings)' comes or goes

    def action_zoom(self) -> None:
        """Charts, map and table over the whole width, or back beside the model."""
        self.form_screen.toggle_class("-zoomed")
        if not self.form_screen.has_class("-zoomed"):
            self.query_one(LayerList).focus()
        self.refresh_bindings()

    def action_compare(self) -> None:
        switch = self.query_one("#compare", Switch)
        switch.value = not switch.value

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_list()))

    def key_list(self) -> list[tuple[str, str, str]]:
        """Every key of the lab, read from the bindings: (key, what it does, where)."""
        rows = []
        for binding in LayerList.BINDINGS:
            assert isinstance(binding, Binding)
            if any(binding.tooltip == described for _, described, _ in rows):
                continue  # '-' is on the '+/-' row
            rows.append((self._key_name(binding), binding.tooltip, "layer list"))
        rows += [
            ("↑ ↓", "select a layer", "layer list"),
            ("Enter", "edit the selected layer", "layer list"),
            ("letters, Enter", "type-ahead, then add or edit", "layer dialog"),
            ("Tab / Shift+Tab", "next / previous field", "everywhere"),
        ]
        for binding in KEY_BINDINGS:
            assert isinstance(binding, Binding)
            # a character key types into a field; F1, ctrl+s and ctrl+o work in one too
            typed = binding.action in LETTER_ACTIONS and len(self._key_name(binding)) == 1
            where = "outside a field" if typed else "everywhere"
            if binding.action == "leave_field":
                where = "in a field"
            if binding.action in LayerInsideScreen.APP_ACTIONS:
                where += ", inside a layer"
            rows.append((self._key_name(binding), binding.tooltip or binding.description, where))
        for binding in LayerInsideScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if not binding.action.startswith("app."):
                rows.append((self._key_name(binding), binding.tooltip, "inside a layer"))
        rows.append(("ctrl+p", "command palette: every action by name", "everywhere"))
        rows.append(("ctrl+q", "quit", "everywhere"))
        return rows

    @staticmethod
    def _key_name(binding: Binding) -> str:
        names = {"question_mark": "?", "plus": "+", "equals_sign": "=", "minus": "-"}
        names |= {"left_square_bracket": "[", "right_square_bracket": "]"}
        keys = [names.get(key, key) for key in binding.key.split(",")]
        return binding.key_display or " ".join(keys)

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        """The lab's actions in the command palette, beside Textual's own."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Maximize", "Minimize"):  # not for this lab
                yield command
        seen = set()
        for binding in KEY_BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in ("quit", "leave_field") or binding.action in seen:
                continue
            seen.add(binding.action)
            tooltip = binding.tooltip
            yield SystemCommand(
                tooltip if tooltip.startswith("vs ") else tooltip[0].upper() + tooltip[1:],
                f"key: {self._key_name(binding)}",
                getattr(self, f"action_{binding.action}"),
            )
        choices = {
            ("data-kind", "Data set"): [*DATASETS, "csv"],
            ("optimizer", "Optimizer"): [component.name for component in OPTIMIZERS.values()],
        }
        for (field_id, what), values in choices.items():
            select = self.query_one(f"#{field_id}", Select)
            for value in values:
                yield SystemCommand(
                    f"{what}: {value}",
                    f"set the {what.lower()} (Setup)",
                    functools.partial(setattr, select, "value", value),
                )
        panel = self.query_one(ModelPanel)
        for action, name in (("add", "Add a layer"), ("edit", "Edit the selected layer")):
            yield SystemCommand(
                name, f"{name} (layer list: {action[0]})", getattr(panel, f"ask_{action}")
            )
        yield SystemCommand("Remove the selected layer", "(layer list: d)", panel.remove_layer)
        for preset in PRESETS:
            yield SystemCommand(
                f"Preset: {preset}",
                "replace the layer stack",
                functools.partial(panel.apply_preset, preset),
            )
