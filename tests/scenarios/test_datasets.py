from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.datasets import RADIUS, centered_disk, quarter_circle


def test_radius_is_one_over_sqrt_two_pi():
    assert 1 / math.sqrt(2 * math.pi) == RADIUS


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300))
def test_labels_follow_the_definitions(seed, n):
    for data, center in (
        (quarter_circle(n, n, seed=seed), (0.0, 0.0)),
        (centered_disk(n, n, seed=seed), (0.5, 0.5)),
    ):
        for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
            assert x.shape == (n, 2) and y.shape == (n,) and y.dtype == torch.int64
            assert ((x >= 0) & (x <= 1)).all()
            inside = ((x[:, 0] - center[0]) ** 2 + (x[:, 1] - center[1]) ** 2).sqrt() <= RADIUS
            assert torch.equal(y, inside.long())


def test_class_shares_are_one_eighth_and_one_half():
    q = quarter_circle(n_train=100_000, n_test=1, seed=1)
    d = centered_disk(n_train=100_000, n_test=1, seed=1)
    assert q.y_train.double().mean().item() == pytest.approx(1 / 8, abs=0.004)
    assert d.y_train.double().mean().item() == pytest.approx(1 / 2, abs=0.006)


def test_defaults_are_1000_and_1000_and_two_classes():
    data = centered_disk()
    assert data.x_train.shape == (1000, 2) and data.x_test.shape == (1000, 2)
    assert data.num_classes == 2 and data.num_features == 2


def test_same_seed_same_points_other_seed_other_points():
    assert torch.equal(centered_disk(seed=3).x_train, centered_disk(seed=3).x_train)
    assert not torch.equal(centered_disk(seed=3).x_train, centered_disk(seed=4).x_train)
    assert not torch.equal(centered_disk(seed=3).x_train, centered_disk(seed=3).x_test)


def test_label_noise_flips_exactly_that_fraction_of_training_labels_only():
    clean = centered_disk(seed=5)
    noisy = centered_disk(noise=0.1, seed=5)
    assert torch.equal(clean.x_train, noisy.x_train)
    assert int((clean.y_train != noisy.y_train).sum()) == 100
    assert torch.equal(clean.y_test, noisy.y_test)


def test_invalid_sizes_and_noise_are_refused():
    with pytest.raises(ValueError, match="label noise must lie in"):
        centered_disk(noise=1.5)
    with pytest.raises(ValueError, match="need n_train > 0"):
        quarter_circle(n_train=0)


@pytest.mark.parametrize(
    ("kind", "classes"),
    [
        ("xor", 2),
        ("two_gaussians", 2),
        ("two_spirals", 2),
        ("three_gaussians", 3),
        ("three_spirals", 3),
    ],
)
def test_playground_data_sets_are_seeded_and_balanced(kind, classes):
    from scenarios.datasets import DATASETS

    factory, declared = DATASETS[kind]
    assert declared == classes
    data = factory(n_train=600, n_test=300, seed=2)
    assert data.num_classes == classes and data.x_train.shape == (600, 2)
    assert torch.equal(data.x_train, factory(n_train=600, n_test=300, seed=2).x_train)
    counts = data.y_train.bincount(minlength=classes)
    assert counts.min() >= 600 // classes - (10 if kind == "xor" else 0) - 40
    noisy = factory(n_train=600, n_test=300, noise=0.1, seed=2)
    assert int((noisy.y_train != data.y_train).sum()) == 60


def test_xor_labels_follow_the_quadrants():
    from scenarios.datasets import xor

    data = xor(n_train=500, n_test=1, seed=0)
    expected = ((data.x_train[:, 0] > 0.5) ^ (data.x_train[:, 1] > 0.5)).long()
    assert torch.equal(data.y_train, expected)


def test_csv_rows_become_a_seeded_split(tmp_path):
    from scenarios.datasets.csv_points import csv_split

    path = tmp_path / "points.csv"
    rows = [f"{i / 20},{1 - i / 20},{i % 3}" for i in range(20)]
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    data = csv_split(path, test_fraction=0.25, seed=1)
    assert data.num_classes == 3
    assert data.x_train.shape == (15, 2) and data.x_test.shape == (5, 2)
    assert torch.equal(data.x_train, csv_split(path, 0.25, seed=1).x_train)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.1,0.2,0\n0.3,0.4\n", "line 2: expected 3 values x1,x2,label, got 2"),
        ("0.1,0.2,0\n0.3,abc,1\n", "line 2: x1 and x2 must be numbers"),
        ("0.1,0.2,0\n0.3,0.4,-1\n", "line 2: label must be an integer 0..99 written in digits"),
        ("0.1,0.2,0\n0.3,inf,1\n", "line 2: x1 and x2 must be finite"),
        ("0.1,0.2,0\n0.3,0.4,0\n0.5,0.5,0\n0.6,0.6,0\n", "needs at least two classes"),
    ],
)
def test_bad_csv_rows_name_their_line(tmp_path, text, message):
    from scenarios.datasets.csv_points import CsvDataError, read_points

    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CsvDataError, match=message.replace("(", r"\(")):
        read_points(path)
