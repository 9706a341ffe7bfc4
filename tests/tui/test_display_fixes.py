"""What the lab shows: charts named by what they plot, no stale results, keys that say
why they do nothing, long messages readable in full."""

from __future__ import annotations

from textual.widgets import Input, Label, Select, Static

from scenarios.shipped import shipped_scenarios
from tests.tui.pilot import finish, set_input, status, wait_until
from tui.app import MinidlLab, make_app
from tui.widgets.boundary import BoundaryMap
from tui.widgets.charts import MetricChart
from tui.widgets.help_screen import HelpScreen
from tui.widgets.layer_inside import TILE_COLUMNS, TILE_ROWS, LayerInsideScreen, UnitTiles
from tui.widgets.layer_list import LayerList
from tui.widgets.model_panel import ModelPanel
from tui.widgets.problems_screen import ProblemsScreen

SIZE = (120, 36)


def legend(app: MinidlLab, chart: str) -> str:
    return str(app.query_one(f"#{chart} .chart-legend", Static).content)


async def test_a_regression_names_its_second_chart_r2_not_accuracy():
    app = make_app(shipped_scenarios()["regression_plane"])
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#data-kind", Select).value = "gaussians"
        await pilot.pause()
        await set_input(pilot, "#epochs", "3")
        assert app.scenario is not None, status(app)
        await pilot.press("t")
        await finish(pilot)
        await wait_until(pilot, lambda: status(app).startswith("completed"))
        app.redraw_charts()
        await pilot.pause()
        shown = legend(app, "accuracy-chart")
        assert shown.startswith("R²") and "accuracy" not in shown
        await pilot.press("z")  # the zoomed view shows the same chart
        await pilot.pause()
        assert legend(app, "accuracy-chart").startswith("R²")


async def test_a_classifier_names_its_second_chart_accuracy():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert legend(app, "accuracy-chart").startswith("accuracy")


async def test_deleting_every_layer_clears_the_last_run():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "3")
        await pilot.press("t")
        await finish(pilot)
        await wait_until(pilot, lambda: status(app).startswith("completed"))
        assert app.query_one("#loss-chart", MetricChart).point_count("train") == 3
        app.query_one(LayerList).focus()
        for _ in range(len(app.query_one(ModelPanel).specs)):
            await pilot.press("d")
        await pilot.pause()
        assert app.query_one(ModelPanel).specs == []
        for chart in app.query(MetricChart):
            assert chart.point_count("train") == chart.point_count("test") == 0
        assert app.query_one(BoundaryMap).grid == []  # no decision map of a model gone
        assert app.query_one(BoundaryMap).points  # the data stays
        assert app.session is None
        assert not status(app).startswith("completed")


async def test_a_new_data_set_clears_the_run_and_its_status():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "#epochs", "3")
        await pilot.press("t")
        await finish(pilot)
        await wait_until(pilot, lambda: status(app).startswith("completed"))
        app.query_one("#data-kind", Select).value = "xor"  # as the palette does
        await pilot.pause()
        assert app.query_one("#loss-chart", MetricChart).point_count("train") == 0
        assert status(app) == "ready: press t to train"


async def test_keys_that_do_nothing_say_why():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        assert status(app) == "nothing to pause: no run under way (t trains)"
        await pilot.press("x")
        assert status(app) == "nothing to stop: no run under way (t trains)"
        panel = app.query_one(ModelPanel)
        layers = app.query_one(LayerList)
        layers.focus()
        specs = panel.specs
        unsized = next(i for i, layer in enumerate(specs) if layer["type"] != "Linear")
        layers.highlighted = unsized
        await pilot.press("plus")
        assert panel.specs == specs
        assert f"a {specs[unsized]['type']} has none" in status(app)
        output = max(i for i, layer in enumerate(specs) if layer["type"] == "Linear")
        layers.highlighted = output
        await pilot.press("minus")
        await pilot.pause()
        assert panel.specs == specs  # still one output per class
        assert status(app).startswith("the last Linear is the output: 2 outputs")
        hidden = next(i for i, layer in enumerate(specs) if layer["type"] == "Linear")
        layers.highlighted = hidden
        await pilot.press("minus")
        await pilot.pause()
        assert panel.specs[hidden]["out_features"] == specs[hidden]["out_features"] - 1


BAD_FILE = """\
[data]
kind = "centered_disk"
n_train = -1
n_test = -5
noise = -0.5
seed = "x"

[model]
init = "nope"
layers = [{ type = "Linear", in_features = 2, out_features = 25 }, { type = "Frob" }]

[training]
loss = "MSELoss"
optimizer = "SGD"
lr = -0.01
batch_size = 0
epochs = 200
"""


async def test_every_problem_of_a_file_is_readable_in_full(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_FILE)
    for size in ((80, 24), SIZE):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.load_from(str(path))
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ProblemsScreen)
            assert len(screen.problems) == 8
            listed = screen.query_one("#problem-list", Static)
            assert listed.size.height >= 8  # one row or more each, none cut
            rows = [str(cell) for cell in listed.content.columns[1].cells]
            assert rows == screen.problems
            scroller = screen.query_one("#problems")
            scroller.scroll_end(animate=False)
            await pilot.pause()
            assert scroller.scroll_y == scroller.max_scroll_y  # the end can be reached
            assert status(app).startswith(f"cannot open {path}: 8 problems, the first: data.")
            await pilot.press("escape")
            assert not isinstance(app.screen, ProblemsScreen)


async def test_a_layer_view_at_80x24_fits_its_tiles_and_reads_in_full():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_input(pilot, "#epochs", "2")
        await pilot.press("t")
        await finish(pilot)
        await wait_until(pilot, lambda: status(app).startswith("completed"))
        app.query_one(LayerList).focus()
        app.query_one(LayerList).highlighted = 0
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, LayerInsideScreen))
        await pilot.pause()
        screen = app.screen
        maps = screen.query_one("#inside-maps", UnitTiles)
        width = maps.content_size.width
        drawn = maps.render().plain.splitlines()
        assert max(len(line.rstrip()) for line in drawn) <= width  # no tile wraps
        per_line = drawn[0].count("unit ")
        assert per_line == (width + 2) // (TILE_COLUMNS + 2) and per_line >= 4
        assert drawn[0].split()[1::2] == [str(u) for u in range(per_line)]
        assert maps.size.height == -(-25 // per_line) * (TILE_ROWS + 1)
        equations = str(screen.query_one("#inside-equations", Static).content)
        assert "::" not in equations and "g = d loss / d y:" in equations
        source = screen.query_one("#inside-source", Static)
        assert source.content.word_wrap  # a long line wraps, never cut
        longest = max(len(line) for line in screen.maths.backward_source.splitlines())
        assert longest > source.content_size.width  # this one does need wrapping
        assert source.size.height > len(screen.maths.backward_source.splitlines())


def footer_keys(screen) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.key for key in screen.query(FooterKey)}


async def test_the_help_wraps_to_the_screen_and_footers_show_only_keys_that_work():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert {"a", "e", "d"} <= footer_keys(app.screen)
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        guide = screen.query("Static")[-1]
        text = str(guide.content)
        assert "Status line (bottom): epoch done" in text
        # one line per paragraph in the text: it wraps to the width on screen
        assert all("\n" not in paragraph for paragraph in text.split("\n\n"))
        lines = guide.render_lines(guide.region.reset_offset)
        widths = [len("".join(s.text for s in strip).rstrip()) for strip in lines]
        assert max(widths) <= guide.content_size.width
        assert screen.query_one("#help").styles.scrollbar_size_vertical == 1
        assert footer_keys(screen) == {"escape"}  # the help's own key, none from under it
        await pilot.press("escape")
        await pilot.pause()
        app.query_one(LayerList).focus()
        await pilot.press("e")  # a dialog over the list: its keys are not offered under it
        await pilot.pause()
        assert app.screen is not app.screen_stack[0]
        assert not {"a", "e", "d"} & footer_keys(app.screen_stack[0])


async def test_a_long_health_flag_wraps_under_its_own_words():
    app = make_app(shipped_scenarios()["deep_sigmoid"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await finish(pilot)
        layers = app.query_one(LayerList)
        await wait_until(pilot, lambda: layers.health_of(0) is not None)
        await pilot.pause()
        width = layers.scrollable_content_region.width
        prompt = layers.get_option_at_index(0).prompt
        lines = [line.plain for line in prompt.wrap(app.console, width)]
        flag = next(i for i, line in enumerate(lines) if "⚠ vanishing gradients" in line)
        assert len(lines) > flag + 1, "the flag fits on one line: nothing to test"
        column = lines[flag].index("vanishing")
        for line in lines[flag + 1 :]:
            assert len(line) - len(line.lstrip()) == column  # under the flag's words


async def test_settings_are_named_for_the_task_and_the_rows_align():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # the parameter counts end in one column
        rows = [app.query_one(LayerList).get_option_at_index(i).prompt.plain for i in range(7)]
        ends = {row.index(" p") for row in rows if row.endswith(" p")}
        assert len(ends) == 1 and rows[6].endswith("  52 p") and rows[2].endswith(" 650 p")
        await pilot.press("m")
        await pilot.pause()
        csv = app.query_one("#csv-path", Input)
        assert csv.placeholder == "x1,x2,label (.csv)"
        assert len(csv.placeholder) <= csv.content_size.width  # shown whole at 80x24
        assert str(app.query_one("#noise-label", Label).content) == "label noise"
    app = make_app(shipped_scenarios()["regression_plane"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert str(app.query_one("#noise-label", Label).content) == "target noise"
        assert app.query_one("#csv-path", Input).placeholder == "x1,x2,y (.csv)"
