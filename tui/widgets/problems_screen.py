"""A scrollable list of a file's problems, one per line: too many for the status line."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class ProblemsScreen(ModalScreen[None]):
    """Every problem in full, one per line (wrapped, never cut); Escape or Enter closes."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, problems: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.problems = problems

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="problems", classes="dialog"):
            yield Static(Text(self.title_text), classes="dialog-title")
            lines = Table.grid()
            lines.add_column(width=2)
            lines.add_column(ratio=1)  # a long problem wraps under its own text
            for problem in self.problems:
                lines.add_row("-", Text(problem))
            yield Static(lines, id="problem-list")
            yield Static(Text("Esc closes this list", style="dim"))
        yield Footer(compact=True)  # this screen's keys, not those under it

    def action_close(self) -> None:
        self.dismiss(None)
