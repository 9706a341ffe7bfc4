"""Arguments typed as ``name=value, name=value``, read as TOML values.

Reading values as TOML means the scenario schema checks what was typed
exactly as it checks a file, and the form writes values back the same way.
A bare word is read as a string (``padding=same`` as ``padding="same"``).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

# a value that is one word and no TOML value (true, false, inf, nan are): a string
BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
TOML_WORDS = {"true", "false", "inf", "nan"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_name_values(text: str) -> dict[str, Any]:
    """'momentum=0.9, nesterov=true' -> {'momentum': 0.9, 'nesterov': True};
    'padding=same' -> {'padding': 'same'}.

    A value may be a TOML list (``betas=[0.9, 0.99]``), so commas inside
    brackets do not split. Raises ValueError saying what is wrong.
    """
    text = text.strip()
    if not text:
        return {}
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    values: dict[str, Any] = {}
    for part in parts:
        name, value = _name_value(part.strip())
        if name in values:
            raise ValueError(f"{name} given twice")
        values[name] = value
    return values


def _name_value(part: str) -> tuple[str, Any]:
    """'momentum=0.9' -> ('momentum', 0.9); ValueError in plain words, never the TOML
    parser's."""
    if "=" not in part:
        raise ValueError(f"{part!r} is not name=value")
    name, value = (piece.strip() for piece in part.split("=", 1))
    if not name:
        raise ValueError(f"{part!r} has no name before '='")
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a name (letters, digits and _)")
    if not value:
        raise ValueError(f"{part!r} has no value after '='")
    if "=" in value:
        raise ValueError(f"cannot read {part!r}: expected name=value pairs separated by commas")
    if BARE_WORD.fullmatch(value) and value not in TOML_WORDS:
        return name, value
    try:
        return name, tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError:
        raise ValueError(
            f"cannot read {part!r}: {value!r} is not a number, true or false, a word "
            "or a [list]"
        ) from None


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return repr(value)


def format_name_values(values: dict[str, Any]) -> str:
    """The inverse of ``parse_name_values``."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in values.items())


def parse_component(text: str) -> dict[str, Any] | None:
    """'StepLR step_size=30, gamma=0.5' -> {'type': 'StepLR', 'step_size': 30, 'gamma': 0.5};
    '' -> None."""
    text = text.strip()
    if not text:
        return None
    name, _, rest = text.partition(" ")
    if "=" in name:
        raise ValueError(f"start with the name, as in 'StepLR step_size=30', not {name!r}")
    return {"type": name, **parse_name_values(rest)}


def format_component(component: dict[str, Any] | str | None) -> str:
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    rest = {k: v for k, v in component.items() if k != "type"}
    return f"{component['type']} {format_name_values(rest)}".strip()
