"""A regression in the lab at 120×36: R² chart, MAE table, continuous map, saved expectations."""

from __future__ import annotations

from textual.widgets import Static

from scenarios.shipped import shipped_scenarios
from tui.app import make_app
from tui.scenario_files import recorded_expectations
from tui.widgets.boundary import BoundaryMap, value_colour
from tui.widgets.charts import MetricChart

SIZE = (120, 36)


async def test_a_regression_trains_in_the_lab_with_r2_and_a_continuous_map():
    app = make_app(shipped_scenarios()["regression_plane"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await app.workers.wait_for_complete()
        for _ in range(20):
            await pilot.pause()
        status = str(app.query_one("#status").content)
        assert status.startswith("completed after 30 epochs") and "R² 0.99" in status
        final = app.session.history.final
        assert final.is_regression and final.test_r2 > 0.99
        chart = app.query_one("#accuracy-chart", MetricChart)
        assert chart.point_count("test") == 30
        header = str(app.query_one("#metrics-header", Static).content)
        assert "R²" in header and "MAE" in header
        grid = app.query_one(BoundaryMap).grid
        assert grid and isinstance(grid[0][0], float)
        # the plane rises to the right and to the top: top right above bottom left
        assert grid[0][-1] > 0.5 > -0.5 > grid[-1][0]
        pixels = app.query_one(BoundaryMap).pixels()
        assert len({colour for row in pixels for colour in row}) > 10  # a gradient, not classes
        expectations = recorded_expectations(final).as_dict()
        assert set(expectations) == {"min_test_r2", "max_test_mae"}
        assert expectations["min_test_r2"] <= final.test_r2
        assert expectations["max_test_mae"] >= final.test_mae


def test_value_colours_diverge_from_dark_zero():
    assert value_colour(0.0, 1.0) == "#1c1c1c"
    assert value_colour(1.0, 1.0) == "#c8641e" and value_colour(5.0, 1.0) == "#c8641e"
    assert value_colour(-1.0, 1.0) == "#1f5fbf"
    assert value_colour(float("nan"), 1.0) == "#1c1c1c"
