"""The scenario file: one TOML file = data + model + training + expectations.

``load_scenario(path)`` / ``parse_scenario(text)`` return a frozen
``Scenario`` or raise ``ScenarioError`` listing every problem, each naming
the field, the value and what is allowed. Unknown keys are errors (with a
"did you mean" hint), so typos never pass silently.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from minidl.files import UnreadableFile, read_regular_text
from scenarios import registry
from scenarios.datasets import DATASETS, REGRESSION_DATASETS
from scenarios.limits import MAX_EPOCHS, MAX_NESTING, MAX_SCENARIO_BYTES, MAX_SEED, nesting_depth
from scenarios.registry import Arg, Component

DTYPES = ("float32", "float64")


class ScenarioError(ValueError):
    """An invalid scenario file; ``problems`` holds one line per faulty field."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        if len(problems) == 1:
            message = f"{where}{problems[0]}"
        else:
            message = f"{where}{len(problems)} problems\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(message)


@dataclass(frozen=True)
class DataSpec:
    kind: str
    n_train: int = 1000
    n_test: int = 1000
    noise: float = 0.0
    seed: int = 0
    path: str | None = None  # kind = "csv": the file, made absolute when read
    test_fraction: float = 0.5  # kind = "csv": share of the rows kept for testing
    classes: int | None = None  # kind = "csv": read from the file
    target: str = "class"  # kind = "csv": "class" (integer labels) or "continuous" (regression)

    @property
    def num_classes(self) -> int:
        return self.classes if self.kind == "csv" else DATASETS[self.kind][1]

    @property
    def is_regression(self) -> bool:
        """A data set with a real target per point (one output column) rather than classes."""
        return self.kind in REGRESSION_DATASETS or (
            self.kind == "csv" and self.target == "continuous"
        )


@dataclass(frozen=True)
class ComponentSpec:
    """A layer, loss or optimizer by canonical name, with its arguments."""

    type: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def describe(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.type}({inner})"


@dataclass(frozen=True)
class ModelSpec:
    layers: tuple[ComponentSpec, ...]
    init: str = "default"
    features: tuple[str, ...] = ()  # input features computed in front of the layers


@dataclass(frozen=True)
class TrainingSpec:
    loss: ComponentSpec
    optimizer: ComponentSpec
    lr: float
    batch_size: int
    epochs: int
    seed: int = 0
    dtype: str = "float32"
    shuffle: bool = True
    scheduler: ComponentSpec | None = None
    clip_grad_norm: float | None = None


# expectation key -> (EpochCompleted field, "min" or "max")
EXPECTATIONS: dict[str, tuple[str, str]] = {
    "min_train_accuracy": ("train_accuracy", "min"),
    "min_test_accuracy": ("test_accuracy", "min"),
    "min_test_precision": ("precision", "min"),
    "min_test_recall": ("recall", "min"),
    "min_test_f1": ("f1", "min"),
    "max_train_loss": ("train_loss", "max"),
    "max_test_loss": ("test_loss", "max"),
    "min_test_r2": ("test_r2", "min"),
    "max_test_mae": ("test_mae", "max"),
    "max_test_mse": ("test_mse", "max"),
}

# expectations that only a regression run has numbers for, and those only a classifier has
REGRESSION_EXPECTATIONS = ("min_test_r2", "max_test_mae", "max_test_mse")
CLASSIFICATION_EXPECTATIONS = (
    "min_train_accuracy",
    "min_test_accuracy",
    "min_test_precision",
    "min_test_recall",
    "min_test_f1",
)
# losses that fit a real target (the others need classes)
REGRESSION_LOSSES = ("MSELoss", "HuberLoss", "L1Loss")


@dataclass(frozen=True)
class Expectations:
    """Bounds on the final epoch's metrics, by key of ``EXPECTATIONS``, and on its
    per-layer health, by key of ``scenarios.layer_checks.LAYER_EXPECTATIONS``."""

    bounds: tuple[tuple[str, float], ...] = ()
    layer_bounds: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, float]:
        return {**dict(self.bounds), **dict(self.layer_bounds)}


@dataclass(frozen=True)
class Scenario:
    name: str
    data: DataSpec
    model: ModelSpec
    training: TrainingSpec
    expect: Expectations = field(default_factory=Expectations)
    description: str = ""
    source: str | None = None

    def with_overrides(self, epochs: int | None = None, seed: int | None = None) -> Scenario:
        """The same scenario with another epoch count, or another seed for data and training."""
        training, data = self.training, self.data
        if epochs is not None:
            try:
                _epochs(epochs)
            except ValueError as error:
                raise ScenarioError([f"--epochs = {epochs!r}: {error}"]) from None
            training = replace(training, epochs=epochs)
        if seed is not None:
            try:
                _seed(seed)
            except ValueError as error:
                raise ScenarioError([f"--seed = {seed!r}: {error}"]) from None
            training = replace(training, seed=seed)
            data = replace(data, seed=seed)
        return replace(self, training=training, data=data)


# --- parsing -----------------------------------------------------------------


class _Reader:
    """Reads tables field by field, collecting every problem instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str, value: Any = ...) -> None:
        shown = "" if value is ... else f" = {_show(value)}"
        self.problems.append(f"{path}{shown}: {message}")

    def table(self, parent: dict[str, Any], key: str, path: str, required: bool = True) -> dict:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing table")
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a table", value)
            return {}
        return value

    def unknown_keys(self, table: dict[str, Any], allowed: list[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.fail(
                    f"{path}.{key}" if path else key,
                    f"unknown key{suggestion} (allowed: {', '.join(allowed)})",
                )

    def field(
        self,
        table: dict[str, Any],
        key: str,
        path: str,
        check,
        default: Any = ...,
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in table:
            if default is ...:
                self.fail(full, "missing")
                return None
            return default
        try:
            return check(table[key])
        except ValueError as error:
            self.fail(full, str(error), table[key])
            return None if default is ... else default


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return repr(value)


def _csv_data(reader: _Reader, table: dict[str, Any], source: str | None):
    """[data] with kind = "csv": the file is read now, so a bad row fails at load time.

    Returns the DataSpec and the rows read (None when the file is bad).
    """
    from scenarios.datasets.csv_points import CsvDataError, read_csv_points

    reader.unknown_keys(table, ["kind", "path", "test_fraction", "noise", "seed", "target"], "data")
    path = reader.field(table, "path", "data", _string)
    target = reader.field(table, "target", "data", registry.choice("class", "continuous"), "class")
    test_fraction = reader.field(table, "test_fraction", "data", registry.fraction, 0.5)
    spec = DataSpec(
        kind="csv",
        noise=reader.field(table, "noise", "data", registry.fraction, 0.0),
        seed=reader.field(table, "seed", "data", _seed, 0),
        test_fraction=test_fraction,
        classes=2,
        target=target,
    )
    if path is None:
        return spec, None
    file = Path(path)
    if not file.is_absolute() and source is not None:
        file = Path(source).parent / file
    if target == "continuous":
        from scenarios.datasets.csv_targets import read_csv_targets

        try:
            x, _ = read_csv_targets(file)
        except CsvDataError as error:
            reader.fail("data.path", str(error), path)
            return spec, None
        rows = x.shape[0]
        n_test = round(rows * test_fraction)
        if n_test == 0 or n_test == rows:
            reader.fail("data.test_fraction", "leaves no training or no test rows", test_fraction)
        spec = replace(
            spec,
            path=str(file.resolve()),
            n_train=max(1, rows - n_test),
            n_test=max(1, n_test),
            classes=1,
        )
        return spec, None
    try:
        points = read_csv_points(file)
    except CsvDataError as error:
        reader.fail("data.path", str(error), path)
        return spec, None
    rows = points.x.shape[0]
    n_test = round(rows * test_fraction)
    if n_test == 0 or n_test == rows:
        reader.fail("data.test_fraction", "leaves no training or no test rows", test_fraction)
    spec = replace(
        spec,
        path=str(file.resolve()),
        n_train=max(1, rows - n_test),
        n_test=max(1, n_test),
        classes=points.num_classes,
    )
    return spec, points


def _features(value: Any) -> tuple[str, ...]:
    from minidl.layers.features import FEATURES

    if (
        not isinstance(value, list)
        or not value
        or any(not isinstance(v, str) or v not in FEATURES for v in value)
        or len(set(value)) != len(value)
    ):
        raise ValueError(f"must be a list of distinct names among {', '.join(FEATURES)}")
    return tuple(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _component(
    reader: _Reader,
    value: Any,
    path: str,
    table: dict[str, Component],
    what: str,
    reserved: tuple[str, ...] = (),
) -> ComponentSpec | None:
    """A component given as a name ("SGD") or a table ({type = "SGD", momentum = 0.9})."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        reader.fail(path, f"must be a {what} name or a table with a 'type'", value)
        return None
    kind = value.get("type")
    component = registry.lookup(table, kind)
    if component is None:
        if "type" not in value:
            reader.fail(f"{path}.type", f"missing (one of: {registry.names(table)})")
        else:
            reader.fail(f"{path}.type", f"unknown {what}; allowed: {registry.names(table)}", kind)
        return None
    args = {k: v for k, v in value.items() if k != "type"}
    allowed = list(component.args)
    for key in args:
        if key in reserved:
            reader.fail(f"{path}.{key}", f"is set in [training], not on the {what}")
        elif key not in component.args:
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            allowed_text = ", ".join(allowed) if allowed else "none"
            reader.fail(
                f"{path}.{key}",
                f"{component.name} takes no argument {key!r}{suggestion} (allowed: {allowed_text})",
            )
    cleaned: list[tuple[str, Any]] = []
    for key, arg in component.args.items():
        if key not in args:
            if arg.required:
                reader.fail(f"{path}.{key}", f"missing (required by {component.name})")
            continue
        try:
            cleaned.append((key, arg.check(args[key])))
        except ValueError as error:
            reader.fail(f"{path}.{key}", f"{component.name}: {error}", args[key])
    return ComponentSpec(component.name, tuple(cleaned))


def _int_at_least(minimum: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value

    return check


def _int_between(minimum: int, maximum: int, why: str = ""):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ValueError(f"must be an integer >= {minimum} and <= {maximum}{why}")
        return value

    return check


_seed = _int_between(0, MAX_SEED, " (2**63 - 1)")
_epochs = _int_between(1, MAX_EPOCHS)


def parse_scenario(text: str, source: str | None = None, name: str | None = None) -> Scenario:
    """Parse and validate a scenario from TOML text; raise ScenarioError on any problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError([f"not valid TOML: {error}"], source) from None
    except RecursionError:
        raise ScenarioError(
            [f"tables or arrays are nested too deeply (at most {MAX_NESTING} levels)"], source
        ) from None
    return parse_document(document, source, name)


def parse_document(
    document: dict[str, Any], source: str | None = None, name: str | None = None
) -> Scenario:
    """Validate a scenario given as nested dicts (a parsed TOML file, or the lab's form)."""
    if not isinstance(document, dict):
        raise ScenarioError(["a scenario must be a table of tables"], source)
    if nesting_depth(document) > MAX_NESTING:
        raise ScenarioError(
            [f"tables or arrays are nested too deeply (at most {MAX_NESTING} levels)"], source
        )
    reader = _Reader()
    reader.unknown_keys(
        document, ["name", "description", "data", "model", "training", "expect"], ""
    )
    scenario_name = reader.field(document, "name", "", _string, default=name or "scenario")
    description = reader.field(document, "description", "", _string, default="")

    data_table = reader.table(document, "data", "data")
    kind = reader.field(data_table, "kind", "data", _string)
    if kind is not None and kind not in (*DATASETS, "csv"):
        allowed = ", ".join((*DATASETS, "csv"))
        reader.fail("data.kind", f"unknown data set; allowed: {allowed}", kind)
        kind = None
    csv_points = None
    if kind == "csv":
        data, csv_points = _csv_data(reader, data_table, source)
    else:
        reader.unknown_keys(data_table, ["kind", "n_train", "n_test", "noise", "seed"], "data")
        data = DataSpec(
            kind=kind or "",
            n_train=reader.field(data_table, "n_train", "data", _int_at_least(1), 1000),
            n_test=reader.field(data_table, "n_test", "data", _int_at_least(1), 1000),
            noise=reader.field(data_table, "noise", "data", registry.fraction, 0.0),
            seed=reader.field(data_table, "seed", "data", _seed, 0),
        )

    model_table = reader.table(document, "model", "model")
    reader.unknown_keys(model_table, ["layers", "init", "features"], "model")
    features = reader.field(model_table, "features", "model", _features, ())
    init = reader.field(
        model_table, "init", "model", registry.choice(*registry.INIT_SCHEMES), "default"
    )
    raw_layers = model_table.get("layers")
    layers: list[ComponentSpec] = []
    if raw_layers is None:
        reader.fail("model.layers", 'missing (an array of tables such as { type = "ReLU" })')
    elif not isinstance(raw_layers, list) or not raw_layers:
        reader.fail("model.layers", "must be a non-empty array of layer tables", raw_layers)
    else:
        for index, raw in enumerate(raw_layers):
            spec = _component(reader, raw, f"model.layers[{index}]", registry.LAYERS, "layer")
            if spec is not None:
                layers.append(spec)
    model = ModelSpec(tuple(layers), init, features or ())

    training_table = reader.table(document, "training", "training")
    reader.unknown_keys(
        training_table,
        [
            "loss",
            "optimizer",
            "lr",
            "batch_size",
            "epochs",
            "seed",
            "dtype",
            "shuffle",
            "scheduler",
            "clip_grad_norm",
        ],
        "training",
    )
    loss = None
    if "loss" not in training_table:
        reader.fail("training.loss", f"missing (one of: {registry.names(registry.LOSSES)})")
    else:
        loss = _component(reader, training_table["loss"], "training.loss", registry.LOSSES, "loss")
    optimizer = None
    if "optimizer" not in training_table:
        reader.fail(
            "training.optimizer", f"missing (one of: {registry.names(registry.OPTIMIZERS)})"
        )
    else:
        optimizer = _component(
            reader,
            training_table["optimizer"],
            "training.optimizer",
            registry.OPTIMIZERS,
            "optimizer",
            reserved=("lr",),
        )
    scheduler = None
    if "scheduler" in training_table:
        scheduler = _component(
            reader,
            training_table["scheduler"],
            "training.scheduler",
            registry.SCHEDULERS,
            "scheduler",
        )
    batch_size = reader.field(training_table, "batch_size", "training", _int_at_least(1))
    if batch_size is not None and batch_size > data.n_train:
        reader.fail(
            "training.batch_size",
            f"is larger than the training set (data.n_train = {data.n_train})",
            batch_size,
        )
    training = TrainingSpec(
        loss=loss or ComponentSpec("MSELoss"),
        optimizer=optimizer or ComponentSpec("SGD"),
        lr=reader.field(training_table, "lr", "training", registry.positive_float),
        batch_size=batch_size or 1,
        epochs=reader.field(training_table, "epochs", "training", _epochs),
        seed=reader.field(training_table, "seed", "training", _seed, 0),
        dtype=reader.field(
            training_table, "dtype", "training", registry.choice(*DTYPES), "float32"
        ),
        shuffle=reader.field(training_table, "shuffle", "training", registry.boolean, True),
        scheduler=scheduler,
        clip_grad_norm=reader.field(
            training_table, "clip_grad_norm", "training", registry.positive_float, None
        ),
    )

    expect_table = reader.table(document, "expect", "expect", required=False)
    from scenarios.layer_checks import LAYER_EXPECTATIONS

    reader.unknown_keys(expect_table, [*EXPECTATIONS, *LAYER_EXPECTATIONS], "expect")
    bounds = []
    for key in EXPECTATIONS:
        if key in expect_table:
            check = registry.fraction if key.startswith("min_") else registry.non_negative_float
            value = reader.field(expect_table, key, "expect", check)
            if value is None:
                continue
            if kind and data.is_regression and key in CLASSIFICATION_EXPECTATIONS:
                reader.fail(
                    f"expect.{key}",
                    f"data set {kind!r} is a regression (a real target, no classes); "
                    f"expect one of: {', '.join(REGRESSION_EXPECTATIONS)}, "
                    "max_train_loss, max_test_loss",
                )
            elif kind and not data.is_regression and key in REGRESSION_EXPECTATIONS:
                reader.fail(
                    f"expect.{key}",
                    f"data set {kind!r} is a classification; {key} applies to regression "
                    "data sets only (" + ", ".join(REGRESSION_DATASETS) + ', or kind = "csv" '
                    'with target = "continuous")',
                )
            else:
                bounds.append((key, value))
    if kind and data.is_regression and loss is not None and loss.type not in REGRESSION_LOSSES:
        reader.fail(
            "training.loss",
            f"data set {kind!r} is a regression; use one of {', '.join(REGRESSION_LOSSES)}",
            loss.type,
        )
    layer_bounds = []
    for key in LAYER_EXPECTATIONS:
        if key in expect_table:
            check = registry.fraction if "fraction" in key else registry.non_negative_float
            value = reader.field(expect_table, key, "expect", check)
            if value is not None:
                layer_bounds.append((key, value))
    expect = Expectations(tuple(bounds), tuple(layer_bounds))

    if not reader.problems and layers and kind:
        # Only a structurally valid file is built: every layer exactly as training will
        # build it, after a memory estimate, so nothing fails later.
        from scenarios.build import check_model

        reader.problems.extend(check_model(model, data, training, csv_points))
        for key in ("weight", "pos_weight"):  # the loss's per-class arguments
            given = training.loss.kwargs.get(key)
            if given is not None and len(given) != data.num_classes:
                reader.fail(
                    f"training.loss.{key}",
                    f"gives {len(given)} values; the data has {data.num_classes} classes",
                )
    if reader.problems:
        raise ScenarioError(reader.problems, source)
    return Scenario(
        name=scenario_name,
        data=data,
        model=model,
        training=training,
        expect=expect,
        description=description,
        source=source,
    )


def _arguments(spec: ComponentSpec) -> dict[str, Any]:
    """A component's arguments as TOML values (tuples become arrays)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in spec.args}


def scenario_to_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as nested dicts, in the file format (``parse_document`` reads it back)."""

    def component(spec: ComponentSpec) -> str | dict[str, Any]:
        return {"type": spec.type, **_arguments(spec)} if spec.args else spec.type

    training = scenario.training
    document: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        document["description"] = scenario.description
    data = scenario.data
    if data.kind == "csv":
        document["data"] = {
            "kind": "csv",
            **({"target": data.target} if data.target != "class" else {}),
            "path": data.path,
            "test_fraction": data.test_fraction,
            "noise": data.noise,
            "seed": data.seed,
        }
    else:
        document["data"] = {
            "kind": data.kind,
            "n_train": data.n_train,
            "n_test": data.n_test,
            "noise": data.noise,
            "seed": data.seed,
        }
    document["model"] = {
        **({"features": list(scenario.model.features)} if scenario.model.features else {}),
        "init": scenario.model.init,
        "layers": [{"type": layer.type, **_arguments(layer)} for layer in scenario.model.layers],
    }
    document["training"] = {
        "loss": component(training.loss),
        "optimizer": component(training.optimizer),
        "lr": training.lr,
        "batch_size": training.batch_size,
        "epochs": training.epochs,
        "seed": training.seed,
        "dtype": training.dtype,
        "shuffle": training.shuffle,
    }
    if training.scheduler is not None:
        document["training"]["scheduler"] = component(training.scheduler)
    if training.clip_grad_norm is not None:
        document["training"]["clip_grad_norm"] = training.clip_grad_norm
    if scenario.expect.bounds or scenario.expect.layer_bounds:
        document["expect"] = scenario.expect.as_dict()
    return document


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write the scenario as a TOML file, atomically (temp file + rename)."""
    import tomli_w

    from minidl.serialization import atomic_write_text

    return atomic_write_text(path, tomli_w.dumps(scenario_to_document(scenario)))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    file = Path(path)
    try:
        text = read_regular_text(file, MAX_SCENARIO_BYTES, "scenario file")
    except UnreadableFile as error:
        raise ScenarioError([str(error)]) from None
    return parse_scenario(text, source=str(file), name=file.stem)


__all__ = [
    "EXPECTATIONS",
    "Arg",
    "ComponentSpec",
    "DataSpec",
    "Expectations",
    "ModelSpec",
    "Scenario",
    "ScenarioError",
    "TrainingSpec",
    "load_scenario",
    "parse_document",
    "parse_scenario",
    "save_scenario",
    "scenario_to_document",
]
