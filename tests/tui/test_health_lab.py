"""Per-layer health beside each layer of the model view, at 120×36 and 200×50."""

from __future__ import annotations

import pytest

from minidl.health import LayerStats
from scenarios.shipped import shipped_scenarios
from tui.app import make_app
from tui.health_view import health_brief, health_text, sparkline
from tui.widgets.layer_inside import LayerInsideScreen
from tui.widgets.layer_list import LayerList


async def train(app, pilot) -> None:
    await pilot.pause()
    await pilot.press("t")
    await app.workers.wait_for_complete()
    for _ in range(30):
        await pilot.pause()


def rows(app) -> list[str]:
    layer_list = app.query_one(LayerList)
    return [layer_list.get_option_at_index(i).prompt.plain for i in range(layer_list.option_count)]


FLAG = "⚠ vanishing gradients (‖∂L/∂W‖ < 0.01 × the last layer's)"


def flat(text: str) -> str:
    """A row's words, whatever lines they wrap to."""
    return " ".join(text.split())


@pytest.mark.parametrize("size", [(120, 36), (200, 50)])
async def test_deep_sigmoid_shows_vanishing_gradients_down_all_its_layers(size):
    app = make_app(shipped_scenarios()["deep_sigmoid"])
    async with app.run_test(size=size) as pilot:
        await train(app, pilot)
        layer_list = app.query_one(LayerList)
        shown = rows(app)
        assert len(shown) == 17
        # too many layers for every one's health in full: all 17 rows stay in view, each
        # with ‖∂L/∂x‖, which shrinks towards the input, and ⚠ where a layer is flagged
        assert layer_list.brief_health and layer_list.max_scroll_y == 0
        title = str(app.query_one("#model-title").content)
        assert title == "Model · ∂x at epoch 10, i: more"
        values = [float(row.split()[-1].lstrip("⚠")) for row in shown if "\n" not in row]
        assert values[0] < values[-1] / 1000
        assert shown[0].rstrip().split()[-1].startswith("⚠") or FLAG in flat(shown[0])
        assert "⚠" not in shown[16]  # the last layer is the reference
        # room for the selected layer's health in full, under its row
        assert FLAG in flat(shown[0]) and "∂W" in shown[0] and "ΔW/W" in shown[0]
        if size == (200, 50):
            await pilot.press("down")  # the full health follows the selection
            await pilot.pause()
            shown = rows(app)
            assert "saturated" in shown[1] and FLAG not in flat(shown[0])
            assert shown[0].split()[-1].startswith("⚠") and layer_list.max_scroll_y == 0
        await pilot.press("i")  # inside the selected layer: its health in full
        await pilot.pause()
        inside = app.screen
        assert isinstance(inside, LayerInsideScreen)
        assert str(inside.query_one("#inside-health-title").content) == "health at epoch 10"
        health = inside.query_one("#inside-health").content.plain
        assert "∂x" in health and ("saturated" in health if size == (200, 50) else FLAG in health)


async def test_at_80_by_24_a_deep_stack_keeps_one_line_per_layer_after_a_run():
    app = make_app(shipped_scenarios()["deep_sigmoid"])
    async with app.run_test(size=(80, 24)) as pilot:
        await train(app, pilot)
        layer_list = app.query_one(LayerList)
        shown = rows(app)
        assert layer_list.brief_health and len(shown) == 17
        # the list scrolls (17 layers), but each row keeps its ‖∂L/∂x‖ on its own line
        assert all("\n" not in row for row in shown)
        assert shown[0].split()[-1].startswith("⚠")  # the first layer is flagged
        assert all(float(row.split()[-1].lstrip("⚠")) > 0 for row in shown)
        for selector in ("#data-kind", "#epochs"):  # the setup stays in view
            region = app.query_one(selector).region
            assert region.height and region.bottom <= 24


async def test_with_batchnorm_no_layer_is_flagged_and_editing_clears_the_health():
    app = make_app(shipped_scenarios()["deep_sigmoid_batchnorm"])
    async with app.run_test(size=(120, 36)) as pilot:
        await train(app, pilot)
        layer_list = app.query_one(LayerList)
        shown = rows(app)
        assert all("e-0" in row for row in shown) and not any("⚠" in row for row in shown)
        full = [layer_list.health_of(index) for index in range(len(shown))]
        assert all(health is not None and "∂x" in health[0].plain for health in full)
        assert not any("vanishing" in health[0].plain for health in full)
        layer_list.focus()
        await pilot.press("d")  # remove a layer: the health was the old stack's
        await pilot.pause()
        assert not any("e-0" in row for row in rows(app)) and layer_list.health_of(0) is None
        assert str(app.query_one("#model-title").content) == "Model"


def test_sparkline_spans_decades_and_health_text_words_the_flags():
    assert sparkline([1e-3, 1e-2, 1e-1]) == "▁▅█"
    assert sparkline([0.0, float("nan")]) == ""
    stats = LayerStats(0, "ReLU", 0.1, 0.2, 0.75, None, None, 0.5, None, None, ("dead layer (x)",))
    text = health_text(stats, [0.5, 0.25]).plain
    assert "dead 75%" in text and "⚠ dead layer (x)" in text and "∂x 5.0e-01" in text
    assert health_brief(stats).plain == "⚠5.0e-01"  # a flag raised: ⚠, then ‖∂L/∂x‖
    calm = LayerStats(0, "ReLU", 0.1, 0.2, 0.0, None, None, 0.5, None, None, ())
    assert health_brief(calm).plain == " 5.0e-01"
    assert health_brief(stats, 0).plain == "⚠5e-01"  # where a row has no room for two digits
