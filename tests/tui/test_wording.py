"""The chain under the layer rows: repeated blocks written once, with their count."""

from __future__ import annotations

import pytest

from tui.wording import folded_chain

CLASSIC = ["Linear 25", "ReLU"] * 3 + ["Linear 2"]


@pytest.mark.parametrize(
    ("names", "chain"),
    [
        (CLASSIC, "(Linear 25 → ReLU) × 3 → Linear 2"),
        (["Linear 16", "Sigmoid"] * 7 + ["Linear 2"], "(Linear 16 → Sigmoid) × 7 → Linear 2"),
        (["Linear 8", "Tanh", "Tanh", "Tanh", "Linear 2"], "Linear 8 → Tanh × 3 → Linear 2"),
        (
            ["Linear 8", "BatchNorm1d", "ReLU"] * 2 + ["Linear 2"],
            "(Linear 8 → BatchNorm1d → ReLU) × 2 → Linear 2",
        ),
        (["Linear 25", "ReLU", "Linear 2"], "Linear 25 → ReLU → Linear 2"),  # nothing repeats
        (["Linear 2"], "Linear 2"),
        ([], ""),
    ],
)
def test_a_repeated_block_is_written_once_with_its_count(names, chain):
    assert folded_chain(names) == chain
