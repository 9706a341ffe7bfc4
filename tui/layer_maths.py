"""What the lab's maths panel shows for a layer: its equations and its backward's source.

Headless (no Textual): the equations are the part of the layer class's
docstring from its first "Forward" line on (the whole docstring when it
has none), and the source is ``inspect.getsource`` of the class's
``backward`` — the code that runs.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass

from minidl.module import Module


@dataclass(frozen=True)
class LayerMaths:
    name: str
    equations: str
    backward_source: str


def _plain(line: str) -> str:
    """A docstring line without reStructuredText's literal-block marker: ``text::`` reads
    as ``text:``, a lone ``::`` as nothing."""
    if not line.endswith("::"):
        return line
    text = line[:-2].rstrip()
    return f"{text}:" if text else ""


def layer_maths(layer: Module | type[Module]) -> LayerMaths:
    """The equations and the ``backward`` source of a layer (or layer class), as plain text."""
    kind = layer if isinstance(layer, type) else type(layer)
    doc = inspect.getdoc(kind) or ""
    lines = doc.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("Forward")), 0)
    equations = "\n".join(_plain(line) for line in lines[start:]).strip()
    try:
        source = inspect.getsource(kind.backward)
    except (OSError, TypeError):
        source = "(source not available)"
    # dedent, not cleandoc: cleandoc would take the body's indentation off too
    return LayerMaths(kind.__name__, equations, textwrap.dedent(source).strip())
