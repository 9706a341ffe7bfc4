"""The scenario files shipped inside the ``scenarios`` package, found by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario name -> path of its TOML file, sorted by name."""
    folder = resources.files("scenarios")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = Path(str(entry))
    return dict(sorted(found.items()))


def resolve_scenario_path(name_or_path: str) -> Path:
    """A path as given when it exists, else the shipped scenario of that name."""
    path = Path(name_or_path)
    try:
        if path.exists():
            return path
    except (OSError, ValueError):  # a name too long, or holding a NUL: load_scenario says so
        return path
    return shipped_scenarios().get(name_or_path.removesuffix(".toml"), path)
