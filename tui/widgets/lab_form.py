"""The left column: the model first, the main settings under it, the others behind ``m``.

It turns what is typed into a scenario: the scenario schema judges the form
exactly as it judges a file, each problem shows beside the field it names,
and the stack's problems under the layers.
"""

from __future__ import annotations

import math
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static

import minidl
from scenarios.build import build_model
from scenarios.datasets import DATASETS
from scenarios.schema import Scenario, ScenarioError, parse_document
from tui.lab_errors import one_line
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import ModelPanel
from tui.widgets.settings_panel import (
    CORE_FIELDS,
    SettingsPanel,
    field_of,
    read_settings,
    show_problems,
)


class LabForm(VerticalScroll):
    """The scenario being set up; ``check`` reads it and shows what is wrong."""

    def __init__(self, document: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self.document = document

    def compose(self) -> ComposeResult:
        with Vertical(id="lab-pane"):
            yield ModelPanel(self.document["model"]["layers"], id="model")
            yield Label("Setup", classes="section")
            yield SettingsPanel(self.document, "core", id="settings")
            yield Static("m: more settings", classes="hint")
        # shown under the model on tall terminals, in its place on m otherwise
        with Vertical(id="more-pane"):
            yield Label("More settings (m: back)", classes="section")
            yield SettingsPanel(self.document, "more", id="settings-more")

    def on_resize(self) -> None:
        self.fit_layers()

    @on(LayerList.HealthShown)
    def _layers_shown(self) -> None:
        self.call_after_refresh(self.fit_layers)

    def fit_layers(self) -> None:
        """Give the layer list the lines the column has left once the title, the chain,
        the setup and its hint are in view (below them, on a tall terminal, the other
        settings may scroll)."""
        pane = self.query_one("#lab-pane")
        layers = self.query_one(LayerList)
        height = self.scrollable_content_region.height
        if not (pane.display and height and pane.outer_size.height):
            return  # hidden behind m or the zoom, or not laid out yet
        layers.set_room(height - (pane.outer_size.height - layers.outer_size.height))

    @on(Select.Changed, "#data-kind")
    def _data_set_chosen(self, event: Select.Changed) -> None:
        """One output per class: the model's last width follows the data set."""
        if event.value in DATASETS:
            self.query_one(ModelPanel).set_output_width(DATASETS[event.value][1])

    def on_mount(self) -> None:
        self.query_one(ModelPanel).layer_checker = self.layer_problems

    def _document(self, layers: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
        """The form as a scenario document with these layers, and what could not be read."""
        settings, problems = read_settings(self)
        training = self.document["training"]
        document = {
            "name": self.document.get("name", "lab"),
            "description": self.document.get("description", ""),
            "data": settings["data"],
            "training": {
                # not in the form: kept as the scenario had them
                **{k: v for k, v in training.items() if k in ("dtype", "shuffle")},
                **settings["training"],
            },
            "model": {**settings["model"], "layers": layers},
        }
        if "expect" in self.document:
            document["expect"] = self.document["expect"]
        return document, problems

    def layer_problems(self, index: int, layer: dict[str, Any], insert: bool) -> list[str]:
        """What the scenario reader says of ``layer`` at ``index`` (put in, or in place of
        the layer there) in this form: the layer dialog shows it as it is typed."""
        specs = self.query_one(ModelPanel).specs
        layers = [*specs[:index], layer, *specs[index + (0 if insert else 1) :]]
        document, _ = self._document(layers)
        try:
            parse_document(document)
        except ScenarioError as error:
            path = f"model.layers[{index}]"
            return [p for p in error.problems if p.startswith((f"{path}.", f"{path} "))]
        return []

    def check(self) -> tuple[Scenario | None, list[str]]:
        """The scenario in the form (None while anything is wrong) and every problem, each
        shown beside its field."""
        model = self.query_one(ModelPanel)
        document, problems = self._document(model.specs)
        # the schema judges the rest even when a field could not be read at all, so
        # every problem shows at once
        scenario: Scenario | None = None
        net: minidl.Sequential | None = None
        try:
            scenario = parse_document(document)
            net = build_model(scenario.model, 2, scenario.data.num_classes)
        except ScenarioError as error:
            problems += error.problems
        except Exception as error:  # a set-up the schema let through but cannot build
            problems.append(f"model.layers: cannot build this model: {one_line(error)}")
        if problems:
            scenario = net = None
        problems = self._in_lab_words(problems, document)
        unplaced = show_problems(self, problems)
        layer_problems = [p for p in unplaced if p.startswith("model") or p == NO_LAYERS]
        others = self.query_one("#settings-errors", Static)
        other_text = "\n".join(p for p in unplaced if p not in layer_problems)
        if str(others.content) != other_text:  # an update re-lays the screen out
            others.update(other_text)
            others.set_class(bool(other_text), "-shown")
        features = scenario.model.features if scenario is not None else ()
        model.show_model(net, len(features) or 2, layer_problems)
        return scenario, problems


    def _in_lab_words(self, problems: list[str], document: dict[str, Any]) -> list[str]:
        """The schema's problems as the lab says them: what to press for an empty model
        or a missing CSV file, 'whole number' for 1e3 typed as a count."""
        data = document["data"]
        said = []
        for problem in problems:
            field_id = field_of(problem)
            if problem.startswith("model.layers = []"):
                problem = NO_LAYERS
            elif problem.startswith("data.path") and not str(data.get("path", "x")).strip():
                problem = NO_CSV_FILE
            elif field_id in INTEGER_FIELDS and ": must be an integer" in problem:
                typed = self.query_one(f"#{field_id}", Input).value
                if not _is_integer(typed):  # a 0 or -1 is told its bounds as it is
                    problem = _whole_number(problem, typed, document)
            if problem not in said:
                said.append(problem)
        return said


NO_LAYERS = "the model has no layers: press a to add one"
NO_CSV_FILE = "data.path: choose a CSV file (More settings, m)"
# fields that hold a count or a seed
INTEGER_FIELDS = ("n-train", "n-test", "data-seed", "batch-size", "epochs", "seed")


def _is_integer(typed: str) -> bool:
    try:
        int(typed)
    except ValueError:
        return False
    return True


def _whole_number(problem: str, typed: str, document: dict[str, Any]) -> str:
    """'training.epochs = 1000.0: must be an integer >= 1 …' for '1e3' ->
    'training.epochs = 1e3: must be a whole number (e.g. 1000)'; the whole number is
    only suggested when the field takes it (for '1e9', beyond the limit, the bounds are
    said instead)."""
    path = problem.split(" = ", 1)[0]
    rest = problem.split(": must be an integer", 1)[1]
    try:
        number = float(typed)
    except ValueError:
        return f"{problem.split(': must be', 1)[0]}: must be a whole number{rest}"
    if not (math.isfinite(number) and number == int(number)):
        return f"{path} = {typed.strip()}: must be a whole number{rest}"
    refusal = _refusal(document, path, int(number))
    if refusal is None:
        return f"{path} = {typed.strip()}: must be a whole number (e.g. {int(number)})"
    if "<=" in rest:  # the bounds say why the whole number would not do either
        return f"{path} = {typed.strip()}: must be a whole number{rest}"
    return f"{path} = {typed.strip()}: must be a whole number{rest}; {int(number)} {refusal}"


def _refusal(document: dict[str, Any], path: str, value: int) -> str | None:
    """What the schema says of ``value`` at ``path`` ('training.epochs') in this form
    ('is larger than the training set …'), or None when it takes it."""
    table, key = path.split(".", 1)
    trial = {**document, table: {**document[table], key: value}}
    try:
        parse_document(trial)
    except ScenarioError as error:
        for problem in error.problems:
            if problem.startswith((f"{path} ", f"{path}:")):
                return problem.split(": ", 1)[1]
    return None


def why_disabled(problems: list[str], more_shown: bool = False) -> str:
    """The status line while Train is disabled: the first problem, how many more, and
    where to find them (unless the other settings show already)."""
    more = len(problems) - 1
    hidden = any(field_of(p) not in (None, *CORE_FIELDS) for p in problems if p != NO_CSV_FILE)
    where = " (press m: more settings)" if hidden and not more_shown else ""
    extra = f" (and {more} more, marked beside their fields)" if more else ""
    return f"Train is disabled: {problems[0]}{extra}{where}"

