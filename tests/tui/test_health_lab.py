"""Per-layer health beside each layer of the model view, at 120×36 and 200×50."""

from __future__ import annotations

import pytest

from minidl.health import LayerStats
from scenarios.shipped import shipped_scenarios
from tui.app import make_app
from tui.health_view import health_text, sparkline
from tui.widgets.layer_list import LayerList


async def train(app, pilot) -> None:
    await pilot.pause()
    await pilot.press("t")
    await app.workers.wait_for_complete()
    for _ in range(30):
        await pilot.pause()


def rows(app) -> list[str]:
    layer_list = app.query_one(LayerList)
    return [
        layer_list.get_option_at_index(i).prompt.plain for i in range(layer_list.option_count)
    ]


@pytest.mark.parametrize("size", [(120, 36), (200, 50)])
async def test_deep_sigmoid_shows_vanishing_gradients_beside_its_first_layer(size):
    app = make_app(shipped_scenarios()["deep_sigmoid"])
    async with app.run_test(size=size) as pilot:
        await train(app, pilot)
        shown = rows(app)
        assert len(shown) == 17
        assert "∂x" in shown[0] and "∂W" in shown[0] and "ΔW/W" in shown[0]
        assert "⚠ vanishing gradients (‖∂L/∂W‖ < 0.01 × the last layer's)" in shown[0]
        assert "saturated" in shown[1]  # a Sigmoid row
        assert "vanishing" not in shown[16]  # the last layer is the reference
        assert app.query_one(LayerList).border_subtitle == "health at epoch 10"


async def test_with_batchnorm_no_layer_is_flagged_and_editing_clears_the_health():
    app = make_app(shipped_scenarios()["deep_sigmoid_batchnorm"])
    async with app.run_test(size=(120, 36)) as pilot:
        await train(app, pilot)
        shown = rows(app)
        assert all("∂x" in row for row in shown)
        assert not any("vanishing" in row for row in shown)
        app.query_one(LayerList).focus()
        await pilot.press("d")  # remove a layer: the health was the old stack's
        await pilot.pause()
        assert not any("∂x" in row for row in rows(app))


def test_sparkline_spans_decades_and_health_text_words_the_flags():
    assert sparkline([1e-3, 1e-2, 1e-1]) == "▁▅█"
    assert sparkline([0.0, float("nan")]) == ""
    stats = LayerStats(0, "ReLU", 0.1, 0.2, 0.75, None, None, 0.5, None, None, ("dead layer (x)",))
    text = health_text(stats, [0.5, 0.25]).plain
    assert "dead 75%" in text and "⚠ dead layer (x)" in text and "∂x 5.0e-01" in text
