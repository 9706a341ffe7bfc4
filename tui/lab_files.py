"""The lab's files: scenarios (ctrl+s, ctrl+o), the history export (h), weights (w, l).

Mixed into the app. Each dialog does its work through one of the ``write_*`` /
``read_*`` methods here, which return what went wrong in plain words (the dialog
stays open, the text kept, and says it) or None once done (the status line says
so). A folder, a device, a missing folder or a name the system refuses is
refused before anything is written, and a failed load changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import minidl
from minidl.serialization import atomic_write_text, strict_json
from scenarios.schema import ScenarioError, load_scenario, save_scenario, scenario_to_document
from tui.file_checks import exists, os_words, read_problem, shortened, write_problem
from tui.lab_run import LabRun
from tui.scenario_files import default_file_name, find_scenario, for_saving, load_problem
from tui.task_words import reached as reached_words
from tui.training_process import RemoteSession, TrainingProcessError
from tui.widgets.boundary import BoundaryMap
from tui.widgets.path_prompt import PathPrompt
from tui.widgets.problems_screen import ProblemsScreen
from tui.widgets.scenario_dialogs import LoadDialog, SaveDialog, SaveRequest


def _replaced(*paths: str | Path) -> Path | None:
    """The first of ``paths`` that is an existing file a write would replace."""
    for path in paths:
        if write_problem(str(path)) is None and exists(target := Path(path).expanduser()):
            return target
    return None


def _history_replaced(path: str) -> Path | None:
    """The export's JSON or the CSV beside it, whichever exists to be replaced."""
    if write_problem(path) is not None or Path(path).suffix == ".csv":
        return None  # refused when written, with the reason
    return _replaced(path, Path(path).with_suffix(".csv"))


class LabFiles(LabRun):
    """Saving and loading in the lab (mixed into the app)."""

    # --- scenarios ------------------------------------------------------------
    def action_save(self) -> None:
        if self.scenario is None:
            self.set_status("nothing to save: fix the marked settings first", error=True)
            return
        session = self.session
        reached = None
        if session is not None and not self.running and session.finished(self.scenario):
            final = session.history.final
            if final is not None and session.history.status == "completed":
                reached = reached_words(final)
        dialog = SaveDialog(default_file_name(self.scenario), reached, self.write_scenario)
        self.push_screen(dialog)

    def save_to(self, request: SaveRequest | str | None) -> None:
        """Save as ``write_scenario`` does; what went wrong goes to the status line."""
        if request:
            problem = self.write_scenario(request)
            if problem:
                self.set_status(problem, error=True)

    def write_scenario(self, request: SaveRequest | str) -> str | None:
        """Write the setup on screen, named after the file and described from its settings;
        its expectations are the run's final metrics when asked for, else none."""
        if isinstance(request, str):
            request = SaveRequest(request)
        if self.scenario is None:
            return "nothing to save: fix the marked settings first"
        path = request.path
        problem = write_problem(path)
        if problem:
            return problem
        session = self.session
        reached = None
        if request.record and session is not None and session.finished(self.scenario):
            reached = session.history.final
        try:
            save_scenario(for_saving(self.scenario, path, reached), Path(path).expanduser())
        except OSError as error:
            return f"cannot write {shortened(path)}: {os_words(error)}"
        self.set_status(f"saved {path} (replay it with: minidl-lab replay {path})")
        return None

    def action_load(self) -> None:
        self.push_screen(LoadDialog(), self.load_from)

    async def load_from(self, path: str | None) -> None:
        """Load a scenario file, or a shipped scenario by name."""
        if not path:
            return
        found = find_scenario(path)
        try:
            scenario = None if found is None else load_scenario(found)
        except ScenarioError as error:  # every problem readable, one per line
            self.show_problems(found, error)
            return
        except OSError:
            scenario = None
        if found is None or scenario is None:
            _, problem = load_problem(path)  # what the path is, in words
            self.set_status(problem.replace("\n", " "), error=True)
            return
        if self.running and self.session is not None:
            self.session.stop()
            await self.workers.wait_for_complete()
        await self.apply_scenario(scenario)
        self.set_status(f"loaded {found}")

    def show_problems(self, path: object, error: ScenarioError) -> None:
        """One problem in the status line; more in a scrollable list, one per line."""
        if len(error.problems) <= 1:
            self.set_status(str(error), error=True)
            return
        title = f"{path}: {len(error.problems)} problems"
        self.set_status(f"cannot open {title}, the first: {error.problems[0]}", error=True)
        self.push_screen(ProblemsScreen(title, error.problems))

    # --- the history ------------------------------------------------------------
    def action_export(self) -> None:
        if self.session is None or not self.session.history.epochs:
            self.set_status("no history yet: train first", error=True)
            return
        name = f"{Path(default_file_name(self.session.scenario)).stem}-history.json"
        prompt = PathPrompt(
            "Export the history (JSON; a .csv is written beside)",
            name,
            self.write_history,
            _history_replaced,
        )
        self.push_screen(prompt)

    def export_to(self, path: str | None) -> None:
        """Export as ``write_history`` does; what went wrong goes to the status line."""
        if path:
            problem = self.write_history(path)
            if problem:
                self.set_status(problem, error=True)

    def write_history(self, path: str) -> str | None:
        """The epochs so far as JSON, with the setup that trained them and, with the
        comparison on, PyTorch's epochs; the minidl epochs as CSV beside it."""
        session = self.session
        if session is None or not session.history.epochs:
            return "no history yet: train first"
        problem = write_problem(path)
        if problem:
            return problem
        if Path(path).suffix == ".csv":
            return f"{shortened(path)}: give the JSON's name; the .csv is written beside it"
        csv_path = Path(path).with_suffix(".csv")
        problem = write_problem(str(csv_path))
        if problem:
            return problem
        history = session.history
        document = history.to_dict()
        if self.running:
            document["status"] = "running"
        document["scenario"] = scenario_to_document(session.scenario)
        if session.compares_with_torch:
            document["torch"] = {"epochs": session.twin_history.to_dict()["epochs"]}
        try:
            atomic_write_text(Path(path).expanduser(), strict_json(document))
            history.to_csv(csv_path.expanduser())
        except OSError as error:
            return f"cannot write {shortened(path)}: {os_words(error)}"
        count_text = f"{len(history.epochs)} epochs"
        self.set_status(f"wrote {path} and {csv_path} ({count_text}{self.tuned_note})")
        return None

    # --- weights ----------------------------------------------------------------
    def _new_session_here(self) -> RemoteSession:
        """A training process for the setup on screen, started on the UI thread (rare,
        and the fork server is warm by now); not shown until the caller says so."""
        spec = self._session_spec()
        return RemoteSession(spec.scenario, spec.grid_size, spec.compare_with_torch)

    def action_save_weights(self) -> None:
        if self.running:  # the weights live in the training process, busy with the run
            self.set_status("stop the run first (x), then save the weights", error=True)
            return
        if self.session is None and self.scenario is None:
            self.set_status("no model to save: fix the marked settings first", error=True)
            return
        prompt = PathPrompt(
            "Save the model weights as", "weights.pt", self.write_weights, _replaced
        )
        self.push_screen(prompt)

    def save_weights_to(self, path: str | None) -> None:
        """Save as ``write_weights`` does; what went wrong goes to the status line."""
        if path:
            problem = self.write_weights(path)
            if problem:
                self.set_status(problem, error=True)

    def write_weights(self, path: str) -> str | None:
        """The model's weights as a checkpoint; before any run, the model on screen as
        its seed initialises it."""
        if self.running:  # a run may have started while the prompt was open
            return "stop the run first (x), then save the weights"
        problem = write_problem(path)
        if problem:
            return problem
        if self.session is None:
            if self.scenario is None:
                return "no model to save: fix the marked settings first"
            self._show_new_session(self._new_session_here())
        assert self.session is not None
        try:
            minidl.save(self.session.state_dict(), Path(path).expanduser())
        except OSError as error:
            return f"cannot write {shortened(path)}: {os_words(error)}"
        except TrainingProcessError as error:
            return f"cannot save {path}: {error}"
        note = ""
        if self.scenario is not None and self.session.scenario != self.scenario:
            note = ": the last run's model; the setup on screen changed since (r builds it)"
        self.set_status(f"saved the weights to {path}{note}")
        return None

    def action_load_weights(self) -> None:
        if self.running:
            self.set_status("stop the run first (x), then load weights", error=True)
            return
        prompt = PathPrompt("Load model weights from", "weights.pt", self.read_weights)
        self.push_screen(prompt)

    def load_weights_from(self, path: str | None) -> None:
        """Load as ``read_weights`` does; what went wrong goes to the status line."""
        if path:
            problem = self.read_weights(path)
            if problem:
                self.set_status(problem, error=True)

    def read_weights(self, path: str) -> str | None:
        """Load a checkpoint into the model on screen. A file that does not fit (another
        shape, corrupt, missing) changes nothing: the run shown stays."""
        if self.running:  # a run may have started while the prompt was open
            return "stop the run first (x), then load weights"
        if self.scenario is None:
            return "fix the marked settings first"
        problem = read_problem(path)
        if problem:
            return problem
        try:
            state = minidl.load(Path(path).expanduser())
            if self._needs_new_session():  # the setup changed: its own model takes them
                fresh = self._new_session_here()
                try:
                    boundary = fresh.load_state_dict(state)
                except BaseException:
                    fresh.close()
                    raise
                self._close_session()
                self._show_new_session(fresh)
            else:
                assert self.session is not None
                boundary = self.session.load_state_dict(state)
        except (minidl.MinidlError, TrainingProcessError) as error:
            return str(error)  # names the file, key or shapes
        except OSError as error:
            return f"cannot read {shortened(path)}: {os_words(error)}"
        self.query_one(BoundaryMap).show(boundary.grid, self.test_points, boundary.extent)
        self.set_status(f"loaded the weights from {path}")
        return None
