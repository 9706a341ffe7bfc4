"""A small modal that asks for a file path (weights, export).

With an ``attempt`` the prompt does the work itself and stays open, the text
kept, with what went wrong said under the field; with ``replaces`` it asks
once more before a file is replaced, as the scenario's save dialog does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from tui.file_checks import shortened
from tui.lab_errors import one_line
from tui.widgets.ordered_input import OrderedInput


class PathPrompt(ModalScreen[str | None]):
    """Returns the path typed (Enter or OK) once ``attempt`` succeeds, or None (Escape or
    Cancel). ``attempt(path)`` returns what went wrong, or None when done; ``replaces(path)``
    names the existing file that the path would replace, if any."""

    BINDINGS = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PathPrompt #prompt .row { height: auto; margin-top: 1; }
    PathPrompt #prompt .row Button { margin-right: 1; }
    PathPrompt #prompt-message { width: 100%; }
    PathPrompt #prompt-message.warning { color: $warning; }
    PathPrompt #prompt-message.error { color: $error; }
    """

    def __init__(
        self,
        title: str,
        default: str,
        attempt: Callable[[str], str | None] | None = None,
        replaces: Callable[[str], Path | None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.attempt = attempt
        self.replaces = replaces
        self.confirmed: Path | None = None  # the existing file the user agreed to replace

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text, markup=False)
            yield OrderedInput(self.default, id="prompt-path")
            yield Label("", id="prompt-message", markup=False)
            with Horizontal(classes="row"):
                yield Button("OK", variant="primary", id="prompt-ok")
                yield Button("Cancel", id="prompt-cancel")

    def say(self, text: str, kind: str = "error") -> None:
        """A message under the field (empty: none)."""
        message = self.query_one("#prompt-message", Label)
        message.update(text)
        message.set_classes(kind if text else "")

    @on(Input.Changed, "#prompt-path")
    def _path_changed(self) -> None:
        self.confirmed = None
        self.say("")
        self.query_one("#prompt-ok", Button).label = "OK"

    @on(Input.Submitted)
    @on(Button.Pressed, "#prompt-ok")
    def accept(self) -> None:
        value = self.query_one("#prompt-path", Input).value.strip()
        if self.attempt is None:
            self.dismiss(value or None)
            return
        if not value:
            self.say("type a file name")
            return
        try:
            existing = self.replaces(value) if self.replaces is not None else None
        except Exception:  # the attempt below names what is wrong with the path
            existing = None
        if existing is not None and existing != self.confirmed:
            self.confirmed = existing
            shown = shortened(str(existing))
            self.say(f"{shown} exists: OK again (Enter) to replace it", "warning")
            self.query_one("#prompt-ok", Button).label = "Replace"
            return
        try:
            problem = self.attempt(value)
        except Exception as error:  # said here; the lab and the typed text stay
            problem = one_line(error)
        if problem:
            self.say(problem)
            return
        self.dismiss(value)

    @on(Button.Pressed, "#prompt-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
