"""The [model] table: the layers of a scenario's network, their init and input features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scenarios import registry
from scenarios.components import ComponentSpec, component_arguments, read_component
from scenarios.field_reader import FieldReader


@dataclass(frozen=True)
class ModelSpec:
    layers: tuple[ComponentSpec, ...]
    init: str = "default"
    features: tuple[str, ...] = ()  # input features computed in front of the layers


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


def read_model(reader: FieldReader, document: dict[str, Any]) -> ModelSpec:
    """The [model] table; a layer that does not read is left out (its problem is recorded)."""
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
            spec = read_component(reader, raw, f"model.layers[{index}]", registry.LAYERS, "layer")
            if spec is not None:
                layers.append(spec)
    return ModelSpec(tuple(layers), init, features or ())


def model_to_table(model: ModelSpec) -> dict[str, Any]:
    """The [model] table of a saved scenario file (``read_model`` reads it back)."""
    return {
        **({"features": list(model.features)} if model.features else {}),
        "init": model.init,
        "layers": [{"type": layer.type, **component_arguments(layer)} for layer in model.layers],
    }
