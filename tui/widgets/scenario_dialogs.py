"""The dialogs that save and load scenario files.

Both complete what is typed (shipped scenario names, folders, ``.toml``
files) with Tab or →. Saving confirms before replacing a file; loading
accepts a shipped name or a path, or picks a file with a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Checkbox, Input, Label
from textual_fspicker import FileOpen, Filters

from scenarios.shipped import shipped_scenarios
from tui.file_checks import exists, shortened, write_problem
from tui.lab_errors import one_line
from tui.scenario_files import completion, load_problem
from tui.widgets.ordered_input import OrderedInput

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 100%; height: auto; max-height: 100%;
    padding: 0 1; border: thick $primary; background: $surface;
}}
{name} Label, {name} Checkbox {{ width: 100%; }}
{name} .hint {{ color: $text-muted; }}
{name} .warning {{ color: $warning; }}
{name} .error {{ color: $error; }}
{name} .buttons {{ height: auto; margin-top: 1; }}
{name} .buttons Button {{ margin-right: 1; }}
{name} .messages {{ height: auto; max-height: 10; }}
"""


class ScenarioSuggester(Suggester):
    """Shipped scenario names, folders and ``.toml`` files that begin with what is typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return completion(value)


class SaveRequest(NamedTuple):
    """Where to save, and whether to record the run's final metrics as expectations."""

    path: str
    record: bool = False


class _Dialog(ModalScreen):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "complete", "Complete", show=False),
    ]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_complete(self) -> None:
        """Tab takes the suggestion shown in the field, else moves on as usual."""
        field = self.focused
        if isinstance(field, Input) and field._suggestion and field.cursor_at_end:
            field.value = field._suggestion
            field.cursor_position = len(field.value)
        else:
            self.focus_next()


class SaveDialog(_Dialog):
    """Asks for a file name; a second confirmation replaces an existing file.

    ``reached`` (a summary of the finished run) offers to record its metrics as
    the file's expectations; without it there is no such choice. ``attempt`` writes
    the file and returns what went wrong (the dialog stays open and says it), or
    None; without it the dialog returns the request for its caller to write.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveDialog")

    def __init__(
        self,
        default: str,
        reached: str | None = None,
        attempt: Callable[[SaveRequest], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.default = default
        self.reached = reached
        self.attempt = attempt
        self.confirmed: Path | None = None  # the existing file the user agreed to replace

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the scenario as")
            yield OrderedInput(self.default, id="save-path", suggester=ScenarioSuggester())
            yield Label(f"in {Path.cwd()} · Tab completes", classes="hint", markup=False)
            if self.reached is not None:
                yield Checkbox(
                    f"expect what this run reached: {self.reached}",
                    id="save-record",
                )
            yield Label("", id="save-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    @on(Input.Changed, "#save-path")
    def _name_changed(self) -> None:
        self.confirmed = None
        self._say("")
        self.query_one("#save-ok", Button).label = "Save"

    def _say(self, text: str, kind: str = "warning") -> None:
        message = self.query_one("#save-message", Label)
        message.update(text)
        message.set_classes(kind if text else "")

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save-ok")
    def accept(self) -> None:
        typed = self.query_one("#save-path", Input).value.strip()
        if not typed:
            self._say("type a file name", "error")
            return
        problem = write_problem(typed)  # a folder or device as typed is refused, not suffixed
        if problem:
            self._say(problem, "error")
            return
        target = Path(typed).expanduser()
        if not target.suffix:
            target = target.with_suffix(".toml")
            problem = write_problem(str(target))
            if problem:
                self._say(problem, "error")
                return
        if exists(target) and self.confirmed != target:
            self.confirmed = target
            self._say(f"{shortened(str(target))} exists: Save again (Enter) to replace it")
            self.query_one("#save-ok", Button).label = "Replace"
            return
        record = self.reached is not None and self.query_one("#save-record", Checkbox).value
        request = SaveRequest(str(target), record)
        if self.attempt is not None:
            try:
                problem = self.attempt(request)
            except Exception as error:  # said here; the lab and the typed text stay
                problem = one_line(error)
            if problem:
                self._say(problem, "error")
                return
        self.dismiss(request)

    @on(Button.Pressed, "#save-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)


class LoadDialog(_Dialog):
    """Asks for a shipped scenario's name or a file's path; Browse picks a file.

    A name that finds nothing, a folder, a device, an unreadable file and a file
    with problems are said in the dialog, which stays open with the text kept;
    it returns the path of a file that loads.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="LoadDialog")

    def compose(self) -> ComposeResult:
        names = ", ".join(sorted(shipped_scenarios()))
        with Vertical():
            yield Label("Load a scenario: a shipped name or a file")
            yield OrderedInput(
                "",
                placeholder="centered_disk, or path/to/file.toml",
                id="load-path",
                suggester=ScenarioSuggester(),
            )
            yield Label(f"shipped: {names} · Tab completes", classes="hint", markup=False)
            with VerticalScroll(classes="messages"):
                yield Label("", id="load-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Load", variant="primary", id="load-ok")
                yield Button("Browse…", id="load-browse")
                yield Button("Cancel", id="load-cancel")

    @on(Input.Submitted, "#load-path")
    @on(Button.Pressed, "#load-ok")
    def accept(self) -> None:
        typed = self.query_one("#load-path", Input).value.strip()
        message = self.query_one("#load-message", Label)
        if not typed:
            message.update("type a shipped name or a path, or Browse")
            message.set_classes("error")
            return
        found, problem = load_problem(typed)
        if found is None:
            message.update(problem)
            message.set_classes("error")
            return
        self.dismiss(str(found))

    @on(Button.Pressed, "#load-browse")
    def browse(self) -> None:
        picker = FileOpen(
            ".",
            "Load a scenario file",
            filters=Filters(
                ("Scenarios (*.toml)", lambda path: path.suffix == ".toml"),
                ("All files", lambda path: True),
            ),
        )
        self.app.push_screen(picker, self._picked)

    def _picked(self, path: Path | None) -> None:
        if path is not None:
            self.query_one("#load-path", Input).value = str(path)
            self.accept()

    @on(Button.Pressed, "#load-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)
