"""A text field whose editing keys act in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.binding import BindingsMap
from textual.widgets import Input


class OrderedInput(Input):
    """An Input whose editing keys act in the order they were typed.

    Textual runs a printable key at once in the field, but an editing key
    (Backspace, Delete, arrows, Home, End) only when its event has bubbled up to the
    app through every container's queue: while the app is busy re-checking the form,
    '⌫⌫0.05' typed quickly became '0.0' or '.06'. Here the field runs its own editing
    bindings on arrival, as it does printable keys.
    """

    # the field's own editing keys; Enter is left to bubble (its owners handle Submitted)
    EDITING_KEYS = {
        key: bindings[0].action
        for key, bindings in BindingsMap(Input.BINDINGS).key_to_bindings.items()
        if bindings[0].action != "submit"
    }

    async def _on_key(self, event: events.Key) -> None:
        action = next((self.EDITING_KEYS[k] for k in event.aliases if k in self.EDITING_KEYS), None)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        self._restart_blink()
        await self.run_action(action)
