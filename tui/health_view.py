"""How the lab shows a layer's health: numbers, a sparkline of ‖∂L/∂x‖ and flags in words.

Headless (no Textual, no maths): it formats what ``minidl.health`` measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from minidl.health import LayerStats

SPARK = "▁▂▃▄▅▆▇█"
SPARK_LENGTH = 10  # the last this many observations


def sparkline(values: Sequence[float]) -> str:
    """Bars of log10 of the values (gradients span decades), lowest to highest."""
    logs = [math.log10(v) for v in values[-SPARK_LENGTH:] if v > 0 and math.isfinite(v)]
    if not logs:
        return ""
    low, high = min(logs), max(logs)
    span = high - low
    return "".join(
        SPARK[0 if span == 0 else round((v - low) / span * (len(SPARK) - 1))] for v in logs
    )


def health_text(stats: LayerStats, history: Sequence[float]) -> Text:
    """One layer's health in lines short enough for the model column at 80 columns:

        ∂x 3.1e-02 ▂▃▅▆▇█▇▆▅▄        (the gradient reaching its input, recent epochs)
        ∂W 1.2e-03 ΔW/W 2.0e-04      (a layer with weights)
        dead 36%                     (ReLU) or saturated 80% (Tanh, Sigmoid)

    then the flags in words.
    """
    text = Text("   ")
    text.append(f"∂x {stats.grad_input_norm:.1e} ", style="dim")
    text.append(sparkline(history), style="cyan")
    details = []
    if stats.grad_weight_norm is not None:
        details.append(f"∂W {stats.grad_weight_norm:.1e}")
    if stats.update_ratio is not None:
        details.append(f"ΔW/W {stats.update_ratio:.1e}")
    if stats.dead_fraction is not None:
        details.append(f"dead {stats.dead_fraction:.0%}")
    if stats.saturated_fraction is not None:
        details.append(f"saturated {stats.saturated_fraction:.0%}")
    if details:
        text.append("\n   " + " ".join(details), style="dim")
    for flag in stats.flags:
        text.append(f"\n   ⚠ {flag}", style="bold red")
    return text


def health_brief(stats: LayerStats, digits: int = 1) -> Text:
    """One layer's health in the few columns a row of the model has left at 80×24:
    ``⚠`` when a flag is raised (in words on ``i``), then ‖∂L/∂x‖, the gradient reaching
    its input, so the column shows where the gradient fades or grows down the stack."""
    value = f"{stats.grad_input_norm:.{digits}e}"
    if stats.flags:
        return Text(f"⚠{value}", style="bold red")
    return Text(f" {value}", style="dim")


def hanging(text: Text, width: int) -> Text:
    """``text`` wrapped at spaces to ``width`` columns, each continuation line indented
    under the first line's words (under a flag's words after its ``⚠``), never flush left."""
    if width <= 0:
        return text
    lines = []
    for line in text.split("\n"):
        plain = line.plain
        words = plain.lstrip(" ")
        indent = len(plain) - len(words) + (2 if words.startswith("⚠ ") else 0)
        if len(plain) <= width or indent >= width // 2:
            lines.append(line)
            continue
        start, cuts = 0, []
        room = width
        while len(plain) - start > room:
            cut = plain.rfind(" ", start + 1, start + room + 1)
            cut = cut if cut > start else start + room
            cuts.append(cut)
            start = cut + (plain[cut] == " ")
            room = width - indent
        pieces = line.divide(cuts)
        lines.append(pieces[0])
        for piece in pieces[1:]:
            piece = piece.copy()
            if piece.plain.startswith(" "):
                piece = piece[1:]
            lines.append(Text.assemble(" " * indent, piece))
    return Text("\n").join(lines)


@dataclass(frozen=True)
class LayerHealth:
    """One layer's health as the model view shows it: ``full`` in lines under its row
    when the terminal has the room, ``brief`` on the row itself when it has not
    (``short``, with one digit, where even that is too wide)."""

    full: Text
    brief: Text
    short: Text


def layer_health(stats: LayerStats, history: Sequence[float]) -> LayerHealth:
    return LayerHealth(health_text(stats, history), health_brief(stats), health_brief(stats, 0))
