"""Data and training settings as compact one-line fields, each with its problem beside it.

The lab shows two panels: the settings used most (data set, loss, optimizer,
learning rate, batch size, epochs) under the model, and the others (CSV
file, sizes, noise, seeds, input features, optimizer arguments, scheduler,
clipping, init) behind one key. Every field is named as in a scenario file,
and the scenario schema judges what was typed exactly as it judges a file,
so a problem reads the same in the lab and in ``replay``.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from minidl.init import INIT_SCHEMES
from minidl.layers.features import FEATURES
from scenarios.datasets import DATASETS
from scenarios.registry import LOSSES, OPTIMIZERS
from tui.widgets.arguments import (
    format_component,
    format_name_values,
    parse_component,
    parse_name_values,
)
from tui.widgets.ordered_input import OrderedInput

# widget ids cannot hold ^, * or parentheses
FEATURE_IDS = {name: f"f{index}" for index, name in enumerate(FEATURES)}

# each field's name in a scenario file: problems are routed to the field they name
FIELD_PATHS = {
    "data-kind": "data.kind",
    "csv-path": "data.path",
    "n-train": "data.n_train",
    "n-test": "data.n_test",
    "noise": "data.noise",
    "data-seed": "data.seed",
    "features": "model.features",
    "loss": "training.loss",
    "optimizer-args": "training.optimizer",
    "lr": "training.lr",
    "batch-size": "training.batch_size",
    "epochs": "training.epochs",
    "scheduler": "training.scheduler",
    "clip": "training.clip_grad_norm",
    "init": "model.init",
    "seed": "training.seed",
}
# a CSV's split is typed as two sizes
ALIASES = {"data.test_fraction": "n-test"}
# an example each optimizer takes, for a problem in its arguments
ARGUMENT_EXAMPLES = {
    "SGD": "momentum=0.9",
    "RMSprop": "momentum=0.9",
    "Adam": "weight_decay=0.01",
    "AdamW": "weight_decay=0.01",
}
CORE_FIELDS = ("data-kind", "loss", "optimizer", "lr", "batch-size", "epochs")


def _number(text: str) -> Any:
    """What was typed, as the number it reads as, or the text itself for the schema to refuse
    by name ('abc' -> "training.lr = 'abc': must be a finite number > 0")."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _arguments_hint(optimizer: str) -> str:
    """What the optimizer takes, on its own wrapped line under the field (the names of
    Adam's five do not fit in the field's placeholder)."""
    component = OPTIMIZERS.get(optimizer.lower())
    names = list(component.args) if component is not None else []
    return f"{optimizer} takes " + ", ".join(names) if names else f"{optimizer} takes none"


def _row(label: str, widget: Widget, field_id: str) -> Vertical:
    """A one-line field and the line under it where its problem shows, wrapped in full."""
    return Vertical(
        Horizontal(
            Label(label, id=f"{field_id}-label", classes="field-label", markup=False),
            widget,
            classes="field",
        ),
        Static("", id=f"{field_id}-error", markup=False, classes="field-error"),
        classes="field-row",
    )


class FieldInput(OrderedInput):
    """A field of the form; its footer names the keys that work while typing (the app
    binds them, with priority, so the field never takes them)."""

    BINDINGS = [
        Binding("ctrl+s", "app.save", "Save"),
        Binding("ctrl+o", "app.load", "Open"),
        Binding("f1", "app.help", "Help"),
    ]


class TickBox(Checkbox):
    """A checkbox whose mark is blank when unticked, so the two differ without colour
    (Textual draws an X in both, dimmed or not)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button


def _input(value: Any, field_id: str, placeholder: str = "") -> Input:
    return FieldInput(str(value), placeholder=placeholder, id=field_id, compact=True)


def _select(options: list[str], value: str, field_id: str) -> Select:
    return Select(
        [(name, name) for name in options],
        value=value,
        allow_blank=False,
        id=field_id,
        compact=True,
    )


# the words that differ between classes and a regression's real targets
CSV_PLACEHOLDER = {False: "x1,x2,label (.csv)", True: "x1,x2,y (.csv)"}
NOISE_LABEL = {False: "label noise", True: "target noise"}


def name_task(form: Widget, regression: bool) -> None:
    """Name the noise and the CSV file's columns for classes or for a regression."""
    form.query_one("#noise-label", Label).update(NOISE_LABEL[regression])
    form.query_one("#csv-path", Input).placeholder = CSV_PLACEHOLDER[regression]


class SettingsPanel(Vertical):
    """One part of the [data] and [training] tables as a form: ``core`` or ``more``."""

    def __init__(self, document: dict[str, Any], part: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.document = document
        self.part = part

    def compose(self) -> ComposeResult:
        if self.part == "core":
            yield from self._core()
        else:
            yield from self._more()

    def _core(self) -> ComposeResult:
        data, training = self.document["data"], self.document["training"]
        optimizer = training["optimizer"]
        optimizer = optimizer if isinstance(optimizer, dict) else {"type": optimizer}
        loss = training["loss"]
        loss = loss if isinstance(loss, dict) else {"type": loss}
        yield _row("data set", _select([*DATASETS, "csv"], data["kind"], "data-kind"), "data-kind")
        yield _row("loss", _select([c.name for c in LOSSES.values()], loss["type"], "loss"), "loss")
        yield _row(
            "optimizer",
            _select([c.name for c in OPTIMIZERS.values()], optimizer["type"], "optimizer"),
            "optimizer",
        )
        yield _row("learning rate", _input(training["lr"], "lr"), "lr")
        yield _row("batch size", _input(training["batch_size"], "batch-size"), "batch-size")
        yield _row("epochs", _input(training["epochs"], "epochs"), "epochs")
        yield Static("", id="settings-errors", markup=False, classes="field-error")

    def _more(self) -> ComposeResult:
        data, training = self.document["data"], self.document["training"]
        optimizer = training["optimizer"]
        optimizer = optimizer if isinstance(optimizer, dict) else {"type": optimizer}
        yield Label("Data", classes="section")
        yield _row(
            "CSV file",
            _input(data.get("path") or "", "csv-path", CSV_PLACEHOLDER[False]),
            "csv-path",
        )
        yield _row("train size", _input(data.get("n_train", 1000), "n-train"), "n-train")
        yield _row("test size", _input(data.get("n_test", 1000), "n-test"), "n-test")
        yield _row(NOISE_LABEL[False], _input(data.get("noise", 0.0), "noise"), "noise")
        yield _row("data seed", _input(data.get("seed", 0), "data-seed"), "data-seed")
        chosen = set(self.document["model"].get("features") or ("x1", "x2"))
        yield Label("Input features", classes="section")
        with Horizontal(id="features"):
            for name in FEATURES:
                yield TickBox(name, name in chosen, id=f"feature-{FEATURE_IDS[name]}")
        yield Static("", id="features-error", markup=False, classes="field-error")
        yield Label("Training", classes="section")
        yield _row(
            "optimizer args",
            _input(
                format_name_values({k: v for k, v in optimizer.items() if k != "type"}),
                "optimizer-args",
                "none; e.g. momentum=0.9",
            ),
            "optimizer-args",
        )
        yield Static(
            _arguments_hint(optimizer["type"]), id="optimizer-args-hint", classes="hint"
        )
        yield _row(
            "scheduler",
            _input(
                format_component(training.get("scheduler")),
                "scheduler",
                "none; e.g. StepLR step_size=50, gamma=0.5",
            ),
            "scheduler",
        )
        clip = training.get("clip_grad_norm")
        yield _row(
            "clip grad norm",
            _input("" if clip is None else clip, "clip", "none; e.g. 1.0"),
            "clip",
        )
        yield _row(
            "init",
            _select(list(INIT_SCHEMES), self.document["model"].get("init", "default"), "init"),
            "init",
        )
        yield _row("seed", _input(training.get("seed", 0), "seed"), "seed")

    @on(Select.Changed, "#optimizer")
    def _optimizer_chosen(self, event: Select.Changed) -> None:
        """Keep the arguments the new optimizer also takes (weight_decay), drop the others."""
        component = OPTIMIZERS.get(str(event.value).lower())
        field = self.screen.query_one("#optimizer-args", Input)
        self.screen.query_one("#optimizer-args-hint", Static).update(
            _arguments_hint(str(event.value))
        )
        if component is None:
            return
        try:
            current = parse_name_values(field.value)
        except ValueError:
            return  # the field shows its own problem
        kept = {k: v for k, v in current.items() if k in component.args}
        if kept != current:
            field.value = format_name_values(kept)


def read_settings(root: DOMNode) -> tuple[dict[str, Any], list[str]]:
    """The form under ``root`` as a scenario document's [data], [training] and model
    settings, and the problems of what could not be read at all (named as in a file)."""

    def text(field_id: str) -> str:
        return root.query_one(f"#{field_id}", Input).value

    def select(field_id: str) -> Any:
        return root.query_one(f"#{field_id}", Select).value

    problems: list[str] = []
    optimizer: dict[str, Any] = {"type": select("optimizer")}
    try:
        optimizer.update(parse_name_values(text("optimizer-args")))
    except ValueError as error:
        example = ARGUMENT_EXAMPLES.get(str(optimizer["type"]), "")
        problems.append(
            f"training.optimizer: {error} (write name=value pairs"
            + (f", e.g. {example})" if example else ")")
        )
    training: dict[str, Any] = {
        "loss": select("loss"),
        "optimizer": optimizer,
        "lr": _number(text("lr")),
        "batch_size": _number(text("batch-size")),
        "epochs": _number(text("epochs")),
        "seed": _number(text("seed")),
    }
    try:
        if (scheduler := parse_component(text("scheduler"))) is not None:
            training["scheduler"] = scheduler
    except ValueError as error:
        problems.append(f"training.scheduler: {error}")
    if text("clip").strip():
        training["clip_grad_norm"] = _number(text("clip"))
    kind = select("data-kind")
    n_train, n_test = _number(text("n-train")), _number(text("n-test"))
    data: dict[str, Any] = {"kind": kind, "noise": _number(text("noise"))}
    data["seed"] = _number(text("data-seed"))
    if kind == "csv":
        data["path"] = text("csv-path")
        if isinstance(n_train, int) and isinstance(n_test, int) and n_train > 0 and n_test > 0:
            data["test_fraction"] = n_test / (n_train + n_test)
        else:
            problems.append("data.n_test: train and test sizes must be integers > 0")
    else:
        data.update(n_train=n_train, n_test=n_test)
    features = [
        name for name in FEATURES if root.query_one(f"#feature-{FEATURE_IDS[name]}", Checkbox).value
    ]
    if not features:
        problems.append("model.features: tick at least one input feature")
    model = {"init": select("init")}
    if features and features != ["x1", "x2"]:
        model["features"] = features
    return {"data": data, "training": training, "model": model}, problems


def field_of(problem: str) -> str | None:
    """The id of the field a problem names ('training.lr = 0: …' -> 'lr'), if any."""
    paths = {**{path: field_id for field_id, path in FIELD_PATHS.items()}, **ALIASES}
    named = [
        path
        for path in paths
        if problem.startswith(path)
        and problem[len(path) : len(path) + 1] in ("", " ", ".", "[", ":")
    ]
    return paths[max(named, key=len)] if named else None


def show_problems(root: DOMNode, problems: list[str]) -> list[str]:
    """Each problem under the field it names, in full; returns those that name no field."""
    by_field: dict[str, list[str]] = {}
    unplaced = []
    for problem in problems:
        field_id = field_of(problem)
        if field_id is None:
            unplaced.append(problem)
        else:
            by_field.setdefault(field_id, []).append(problem)
    for field_id in FIELD_PATHS:
        label = root.query_one(f"#{field_id}-error", Static)
        shown = "\n".join(by_field.get(field_id, []))
        if str(label.content) != shown:  # an update re-lays the screen out: only on change
            label.update(shown)
            label.set_class(bool(shown), "-shown")
    return unplaced
