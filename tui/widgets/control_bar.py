"""The run controls across the top: Train, Pause, Step, Stop, Reset and the vs-torch switch.

A button runs the app's action of the same name, as its key does.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, Switch


class ControlBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Button("Train", id="train", variant="success", compact=True)
        yield Button("Pause", id="pause", compact=True)
        yield Button("Step", id="step", compact=True)
        yield Button("Stop", id="stop", variant="error", compact=True)
        yield Button("Reset", id="reset", compact=True)
        yield Label("vs torch", id="compare-label")
        yield Switch(
            value=False,
            id="compare",
            tooltip="train the torch.nn twin alongside (from the next reset)",
        )

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.app.run_action(str(event.button.id))
