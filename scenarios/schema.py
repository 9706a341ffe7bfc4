"""The scenario file: one TOML file = data + model + training + expectations.

``load_scenario(path)`` / ``parse_scenario(text)`` return a frozen
``Scenario`` or raise ``ScenarioError`` listing every problem, each naming
the field, the value and what is allowed. Unknown keys are errors (with a
"did you mean" hint), so typos never pass silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from minidl.files import UnreadableFile, read_regular_text
from scenarios.components import ComponentSpec
from scenarios.data_section import DataSpec, data_to_table, read_data
from scenarios.expectations import (
    EXPECTATIONS,
    Expectations,
    expect_table,
    read_layer_bounds,
    read_metric_bounds,
)
from scenarios.field_reader import FieldReader, ScenarioError, epoch_count, seed_number, string
from scenarios.limits import MAX_NESTING, MAX_SCENARIO_BYTES, nesting_depth
from scenarios.model_section import ModelSpec, model_to_table, read_model
from scenarios.registry import Arg
from scenarios.training_section import (
    REGRESSION_LOSSES,
    TrainingSpec,
    read_training,
    training_to_table,
)


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
                epoch_count(epochs)
            except ValueError as error:
                raise ScenarioError([f"--epochs = {epochs!r}: {error}"]) from None
            training = replace(training, epochs=epochs)
        if seed is not None:
            try:
                seed_number(seed)
            except ValueError as error:
                raise ScenarioError([f"--seed = {seed!r}: {error}"]) from None
            training = replace(training, seed=seed)
            data = replace(data, seed=seed)
        return replace(self, training=training, data=data)


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
    reader = FieldReader()
    reader.unknown_keys(
        document, ["name", "description", "data", "model", "training", "expect"], ""
    )
    scenario_name = reader.field(document, "name", "", string, default=name or "scenario")
    description = reader.field(document, "description", "", string, default="")

    data, csv_points = read_data(reader, document, source)
    kind = data.kind
    model = read_model(reader, document)
    training, loss = read_training(reader, document, data.n_train)

    expected = expect_table(reader, document)
    bounds = read_metric_bounds(reader, expected, data)
    if kind and data.is_regression and loss is not None and loss.type not in REGRESSION_LOSSES:
        reader.fail(
            "training.loss",
            f"data set {kind!r} is a regression; use one of {', '.join(REGRESSION_LOSSES)}",
            loss.type,
        )
    expect = Expectations(bounds, read_layer_bounds(reader, expected))

    if not reader.problems and model.layers and kind:
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


def scenario_to_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as nested dicts, in the file format (``parse_document`` reads it back)."""
    document: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        document["description"] = scenario.description
    document["data"] = data_to_table(scenario.data)
    document["model"] = model_to_table(scenario.model)
    document["training"] = training_to_table(scenario.training)
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
