"""The help screen (``?`` or F1): every key, and what each colour and number means."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

SCREEN_GUIDE = """\
Buttons (top): Train is green, Stop red, the others grey; a dimmed button does nothing
now (Train while a setting is marked wrong). Tab reaches them; the focused one shows in
reverse video, and Enter presses it. "vs torch" switches the PyTorch twin on or off.

Model (left, top): one row per layer: its index, type and arguments, → the shape it
outputs (a width, or channels×length) and its parameter count. Under the rows, the
whole chain from the input width (2, or the number of input features) to the output
width, and the model's parameter count. The last Linear's width follows the number of
classes of the data set.

Layer health (with each row, after a run; the title names the epoch): ∂x is the norm
of the loss's gradient reaching the layer's input (the bars: its recent values, on a
log scale), ∂W the norm of its weight gradient, ΔW/W the size of the last update
relative to the weights, dead the share of ReLU units that output 0 for every sample of
the batch, saturated the share of Tanh/Sigmoid outputs near their limits; ⚠ and a line
in red name a problem. When the column has no room for these lines under every row,
each row shows its ∂x (⚠ where flagged) and the selected layer its lines, where they
fit; i on a layer shows its lines in full.

Setup (left, under the model): data set, loss, optimizer, learning rate, batch size,
epochs. m switches to the other settings (CSV file, sizes, noise, seeds, input
features, optimizer arguments, scheduler, clipping, init) and back. A field's problem
shows under it in red, named as in a scenario file (training.lr = 0: must be a finite
number > 0); while any is left, Train is disabled and the status line says why.

Charts (right, top): loss and accuracy (R² for a regression) per epoch, for the
training set (blue) and the test set (orange) of minidl, as lines; with "vs torch" on,
the torch.nn twin trained on the same batches as paler dots over them, and its largest
gap in the legend (the line above each chart). g shows the loss on a log scale, and back.

Decision map (right, bottom): each half cell is coloured by the class the model
predicts there (blue: class 0, orange: class 1, green: class 2, purple: class 3), over
the unit square or over your CSV data's box (named in the map's title), with square
data units; the bright pixels are test points, coloured by their true class. A point of
another colour than the area around it is misclassified.

Epoch table (right of the map): per epoch, the training and test loss, the training and
test accuracy, and F1 (class 1 for two classes; macro-averaged otherwise).

Progress bar (under the map): the epochs done of the epochs asked.

Status line (bottom): epoch done / epochs asked, samples trained per second, seconds
since the run started, test accuracy and F1; at the end, the final precision, recall and
F1, and with vs torch on, the largest relative gap between minidl's and torch's loss.
Red means an error, or Train disabled, or training that diverged.
"""


def paragraphs(text: str) -> str:
    """Each paragraph on one line, so that it wraps to the screen's width, not the
    source's."""
    return "\n\n".join(" ".join(block.split()) for block in text.strip().split("\n\n"))


def key_table(rows: Iterable[tuple[str, str, str]]) -> Table:
    """Key, what it does, where it works."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does")
    table.add_column("where", style="dim")
    for key, description, where in rows:
        table.add_row(Text(key), Text(description), Text(where))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key (from the bindings themselves, so it cannot go stale) and explains
    the screen."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Static("minidl-lab: keys (Esc closes this help)", classes="dialog-title")
            yield Static(key_table(self.keys))
            yield Static("What you see", classes="dialog-title")
            yield Static(paragraphs(SCREEN_GUIDE), markup=False)
        yield Footer(compact=True)  # this screen's keys, not those under it

    def action_close(self) -> None:
        self.dismiss(None)
