"""Layers, losses, optimizers and schedulers named in a scenario file, checked by the registry."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scenarios import registry
from scenarios.field_reader import FieldReader, show_value
from scenarios.registry import Component


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


def read_component(
    reader: FieldReader,
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


def component_arguments(spec: ComponentSpec) -> dict[str, Any]:
    """A component's arguments as TOML values (tuples become arrays)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in spec.args}


def construction_problem(
    spec: ComponentSpec,
    component: Component,
    path: str,
    make: Callable[[dict[str, Any]], object],
) -> str | None:
    """What the component's constructor refuses in arguments each valid on its own, or None.

    Some arguments only clash together (SGD's nesterov without momentum), so
    ``make`` is tried with the required arguments, then with the others added
    one at a time: the first one that makes it fail is the field named.
    """
    given = {key: value for key, value in spec.args if component.args[key].required}
    steps: list[tuple[str | None, Any]] = [(None, None)]
    steps += [(key, value) for key, value in spec.args if key not in given]
    for key, value in steps:
        if key is not None:
            given[key] = value
        try:
            make(dict(given))
        except (ValueError, TypeError, OverflowError) as error:
            if key is None:
                return f"{path}: {spec.type}: {error}"
            shown = show_value(list(value) if isinstance(value, tuple) else value)
            return f"{path}.{key} = {shown}: {error}"
    return None
