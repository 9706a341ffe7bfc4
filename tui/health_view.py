"""How the lab shows a layer's health: numbers, a sparkline of ‖∂L/∂x‖ and flags in words.

Headless (no Textual, no maths): it formats what ``minidl.health`` measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from minidl.health import LayerStats

SPARK = "▁▂▃▄▅▆▇█"
SPARK_LENGTH = 12  # the last this many epochs


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
    """One layer's health: '∂x 3.1e-02 ▂▃▅ ∂W 1.2e-03 ΔW/W 2.0e-04 dead 36%', flags below."""
    text = Text("   ")
    text.append(f"∂x {stats.grad_input_norm:.1e} ", style="dim")
    text.append(sparkline(history), style="cyan")
    if stats.grad_weight_norm is not None:
        text.append(f" ∂W {stats.grad_weight_norm:.1e}", style="dim")
    if stats.update_ratio is not None:
        text.append(f" ΔW/W {stats.update_ratio:.1e}", style="dim")
    if stats.dead_fraction is not None:
        text.append(f" dead {stats.dead_fraction:.0%}", style="dim")
    if stats.saturated_fraction is not None:
        text.append(f" saturated {stats.saturated_fraction:.0%}", style="dim")
    for flag in stats.flags:
        text.append(f"\n   ⚠ {flag}", style="bold red")
    return text
