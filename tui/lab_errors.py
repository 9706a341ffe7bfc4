"""One error boundary for the lab's actions, and one line for an error nothing caught.

Every action that reads files, writes files or trains goes through ``guard_actions``:
any exception it raises becomes a status message, and the lab stays usable. An
exception anywhere else ends the lab with exit status 1 and one line on stderr
(the traceback goes to a file that line names), never a traceback painted over the
terminal or a status 0.
"""

from __future__ import annotations

import functools
import inspect
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    _Base = App
else:
    _Base = object


def one_line(error: BaseException) -> str:
    """An exception as one line of at most 300 characters: its type and message."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 300 else text[:299] + "…"


# Every action that reads files, writes files or trains goes through one boundary: any
# exception it raises becomes a status message, and the lab stays usable.
GUARDED_ACTIONS = {
    "action_train": "train",
    "action_step": "train one epoch",
    "action_reset": "reset",
    "action_save": "save the scenario",
    "save_to": "save the scenario",
    "action_load": "load a scenario",
    "load_from": "load the scenario",
    "action_export": "export the history",
    "export_to": "export the history",
    "action_save_weights": "save the weights",
    "save_weights_to": "save the weights",
    "action_load_weights": "load weights",
    "load_weights_from": "load the weights",
}


def _guarded(method, what: str):
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def guarded_coroutine(self: CrashReport, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except Exception as error:
                self.report_failure(what, error)

        return guarded_coroutine

    @functools.wraps(method)
    def guarded(self: CrashReport, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            self.report_failure(what, error)

    return guarded



def guard_actions(cls: type) -> type:
    """Wraps each of GUARDED_ACTIONS in the boundary (a class decorator)."""
    for name, what in GUARDED_ACTIONS.items():
        setattr(cls, name, _guarded(getattr(cls, name), what))
    return cls


class CrashReport(_Base):
    """Failures as status lines, and an uncaught error as one line and status 1."""

    crash_line: str | None = None

    def set_status(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

    def report_failure(self, what: str, error: BaseException) -> None:
        """An action that failed: said in the status line; the lab stays usable."""
        self.log.error("".join(traceback.format_exception(error)))
        self.set_status(f"could not {what}: {one_line(error)}", error=True)

    def _handle_exception(self, error: Exception) -> None:
        """An error no action caught ends the lab with one line (and status 1); the
        traceback goes to a file named in that line."""
        super()._handle_exception(error)
        log = Path(tempfile.gettempdir()) / "minidl-lab-crash.txt"
        try:
            log.write_text("".join(traceback.format_exception(error)))
            where = f" (traceback in {log})"
        except OSError:
            where = ""
        self.crash_line = f"minidl-lab: internal error: {one_line(error)}{where}"
        self._exit_renderables.clear()  # no traceback on the terminal: run() prints the line

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the lab; an internal error exits with status 1, never 0."""
        result = super().run(*args, **kwargs)
        if self.crash_line is not None:
            print(self.crash_line, file=sys.stderr)
        if self.return_code:
            raise SystemExit(self.return_code)
        return result
