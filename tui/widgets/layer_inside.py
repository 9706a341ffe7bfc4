"""Inside one layer: its equations, the source of its backward, and each unit's map.

Opened with ``i`` on a layer of the model view. The maps are the layer's
units over the data's plane (as TensorFlow Playground draws them), from
the weights the training process holds: during a run, the process
computes them with each decision map it reports, and they redraw with it.
The run keys (train, pause, step, stop) work here too: they are the app's
own actions, so a run can be paused and stepped while its units are watched.
"""

from __future__ import annotations

from typing import Any

import torch
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tui.layer_maths import LayerMaths
from tui.session import BoundaryUpdate
from tui.widgets.boundary import value_colour

TILE_COLUMNS, TILE_ROWS = 12, 6  # one unit's map: 12 × 12 half-block pixels
MAX_UNITS = 64


def tiles_per_line(width: int) -> int:
    """How many tiles fit side by side in ``width`` columns, two columns apart."""
    return max(1, (width + 2) // (TILE_COLUMNS + 2))


def tiles(maps: torch.Tensor, width: int) -> Text:
    """Each unit's map as a small heatmap (blue below 0, orange above, its own scale),
    side by side, as many per line as ``width`` holds, numbered."""
    text = Text()
    per_line = tiles_per_line(width)
    units = maps.shape[0]
    for first in range(0, units, per_line):
        group = list(range(first, min(units, first + per_line)))
        text.append("  ".join(f"unit {u:<{TILE_COLUMNS - 5}}" for u in group) + "\n", style="dim")
        for row in range(TILE_ROWS):
            for position, unit in enumerate(group):
                values = maps[unit]
                scale = float(values.abs().max()) or 1.0
                upper, lower = values[2 * row].tolist(), values[2 * row + 1].tolist()
                for column in range(TILE_COLUMNS):
                    style = Style(
                        color=value_colour(upper[column], scale),
                        bgcolor=value_colour(lower[column], scale),
                    )
                    text.append("▀", style=style)
                if position < len(group) - 1:
                    text.append("  ")
            text.append("\n")
    return text


class UnitTiles(Widget):
    """The unit maps, as many side by side as the widget's width holds."""

    DEFAULT_CSS = """
    UnitTiles { height: auto; }
    """

    def __init__(self, maps: torch.Tensor | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.maps = maps

    def show(self, maps: torch.Tensor | None) -> None:
        self.maps = maps
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.maps is None:
            return 0
        per_line = tiles_per_line(width)
        return -(-self.maps.shape[0] // per_line) * (TILE_ROWS + 1)

    def render(self) -> Text:
        if self.maps is None:
            return Text()
        text = tiles(self.maps, self.content_size.width)
        text.no_wrap = True
        return text


class LayerInsideScreen(ModalScreen[None]):
    """The selected layer's maths and, for a layer of units, its per-neuron maps.

    While a run goes, the screen watches its layer: every decision map the
    run reports carries the layer's maps, and ``show_units`` redraws them.
    """

    BINDINGS = [
        Binding("escape,q,i", "close", "Close", tooltip="close the inside view"),
        # the lab's run controls (tui.lab_run), the same actions as on the main screen
        Binding("t", "app.train", "Train", tooltip="train every epoch left (resumes a pause)"),
        Binding("p", "app.pause", "Pause", tooltip="pause or resume the run"),
        Binding("s", "app.step", "Step", tooltip="train one epoch"),
        Binding("x", "app.stop", "Stop", tooltip="stop the run (within one batch)"),
    ]
    # the app's actions this screen lets through (the app's check_action asks)
    APP_ACTIONS = frozenset(
        binding.action.removeprefix("app.")
        for binding in BINDINGS
        if binding.action.startswith("app.")
    )

    def __init__(
        self,
        title: str,
        maths: LayerMaths,
        maps: torch.Tensor | None,
        note: str,
        layer: int | None = None,
        row: int = 0,
        health: tuple[Text, int] | None = None,
    ) -> None:
        super().__init__()
        self.title_text, self.maths, self.maps, self.note = title, maths, maps, note
        self.row = row  # the layer's row in the model view
        self.health = health  # its health in full, and the epoch it is from
        self.layer_index = layer  # the built model's index of the layer shown (None: no model)
        self.watched: Any = None  # the session whose reports redraw the maps

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inside", classes="dialog"):
            yield Static(Text(f"{self.title_text} (Esc closes)"), classes="dialog-title")
            yield Static(id="inside-health-title", classes="dialog-title")
            yield Static(id="inside-health")
            yield Static(Text(self.maths.equations), id="inside-equations")
            yield Static("backward, as it runs", classes="dialog-title")
            # wrapped to the width: a long line is read in full, never cut
            source = Syntax(
                self.maths.backward_source, "python", theme="ansi_dark", word_wrap=True
            )
            yield Static(source, id="inside-source")
            yield Static("each unit over the plane", classes="dialog-title")
            yield UnitTiles(self.maps, id="inside-maps")
            yield Static(Text(self.note), id="inside-note")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show_health(self.health)

    def show_health(self, health: tuple[Text, int] | None) -> None:
        """The layer's health as the model view has it, in full (hidden before a run)."""
        self.health = health
        title = self.query_one("#inside-health-title", Static)
        lines = self.query_one("#inside-health", Static)
        title.display = lines.display = health is not None
        if health is not None:
            title.update(Text(f"health at epoch {health[1]}"))
            lines.update(health[0])

    def watch(self, session: Any) -> None:
        """Ask ``session`` (its run starting or going on) for this layer's maps with each
        decision map it reports; ``show_units`` draws them."""
        if self.layer_index is None or self.watched is session:
            return
        self._stop_watching()
        self.watched = session
        session.watch_units(self.layer_index, TILE_COLUMNS, 2 * TILE_ROWS)

    def show_units(self, update: BoundaryUpdate) -> None:
        """Redraw the maps from a run's report, if it carries this screen's layer."""
        if self.watched is None or update.unit_maps is None:
            return
        if update.unit_layer != self.layer_index:
            return
        self.maps, self.note = _capped(update.unit_maps, update.epoch)
        if self.is_mounted:  # else compose draws them
            self.query_one("#inside-maps", UnitTiles).show(self.maps)
            self.query_one("#inside-note", Static).update(Text(self.note))

    def on_unmount(self) -> None:
        self._stop_watching()

    def action_close(self) -> None:
        self._stop_watching()
        self.dismiss(None)

    def _stop_watching(self) -> None:
        if self.watched is not None:
            self.watched.watch_units(None)
            self.watched = None


def _capped(grid: torch.Tensor, epoch: int) -> tuple[torch.Tensor, str]:
    """At most MAX_UNITS maps, and the note that says which weights they show."""
    note = ""
    if grid.shape[0] > MAX_UNITS:
        note = f"the first {MAX_UNITS} of {grid.shape[0]} units; "
        grid = grid[:MAX_UNITS]
    return grid, note + f"weights after epoch {epoch}"


def open_inside(app: Any, index: int, layer_type: str) -> None:
    """Push the inside view of row ``index`` (a layer of type ``layer_type``).

    While a run goes, the training process is asked for the layer's maps with
    each decision map; otherwise they are computed here from its weights.
    """
    from scenarios import registry
    from scenarios.build import build_model
    from scenarios.neuron_maps import neuron_maps
    from tui.layer_maths import layer_maths

    component = registry.lookup(registry.LAYERS, layer_type)
    if component is None:
        return
    maths = layer_maths(component.factory)  # the class: its docstring and backward
    from tui.widgets.layer_list import LayerList

    scenario, session = getattr(app, "scenario", None), getattr(app, "session", None)
    health = app.query_one(LayerList).health_of(index)
    maps, note, layer = None, "", None
    title = f"layer {index}: {layer_type}"
    if scenario is not None:
        layer = index + (1 if scenario.model.features else 0)
    if scenario is None:
        note = "fix the marked settings to see the units"
    elif session is None:
        note = "train to see each unit over the plane"
    elif getattr(app, "running", False):
        note = "the maps come with the run's next decision map"
        screen = LayerInsideScreen(title, maths, maps, note, layer, index, health)
        app.push_screen(screen)
        screen.watch(session)
        return
    else:
        model = build_model(scenario.model, 2, scenario.data.num_classes)
        model.load_state_dict(session.state_dict())
        grid = neuron_maps(model, layer, TILE_COLUMNS, 2 * TILE_ROWS, session_extent(app))
        maps, note = _capped(grid, session.epochs_completed)
    app.push_screen(LayerInsideScreen(title, maths, maps, note, layer, index, health))


def session_extent(app: Any) -> tuple[float, float, float, float]:
    from scenarios.boundary import UNIT_SQUARE
    from tui.widgets.boundary import BoundaryMap

    try:
        return app.query_one(BoundaryMap).extent
    except Exception:  # no map on screen
        return UNIT_SQUARE
