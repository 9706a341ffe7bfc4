"""Arguments typed in the lab's fields: TOML values, and bare words as strings."""

from __future__ import annotations

import pytest

from tui.widgets.arguments import format_name_values, parse_component, parse_name_values


def test_bare_words_are_strings_and_toml_values_stay_values():
    assert parse_name_values('padding=same, mode="valid", nesterov=true, lr=1e-3') == {
        "padding": "same",
        "mode": "valid",
        "nesterov": True,
        "lr": 0.001,
    }
    assert parse_name_values("betas=[0.9, 0.99], x=inf, y=false") == {
        "betas": [0.9, 0.99],
        "x": float("inf"),
        "y": False,
    }
    assert parse_name_values("reduction = sum_squared") == {"reduction": "sum_squared"}


def test_a_bare_word_round_trips_through_the_form():
    values = parse_name_values("padding=same, stride=2")
    assert format_name_values(values) == 'padding="same", stride=2'
    assert parse_name_values(format_name_values(values)) == values
    assert parse_component("StepLR step_size=30, gamma=0.5") == {
        "type": "StepLR",
        "step_size": 30,
        "gamma": 0.5,
    }


@pytest.mark.parametrize("text", ["padding=same same", "a=[1,", "=3", "x"])
def test_what_is_not_a_value_is_still_refused(text):
    with pytest.raises(ValueError):
        parse_name_values(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("momentum=0.9, momentum=0.5", "momentum given twice"),
        (
            "momentum=0.9 nesterov=true",
            "cannot read 'momentum=0.9 nesterov=true': expected name=value pairs separated "
            "by commas",
        ),
        (
            "momentum=0.9, eps=1e",
            "cannot read 'eps=1e': '1e' is not a number, true or false, a word or a [list]",
        ),
        ("=3", "'=3' has no name before '='"),
        ("lr=", "'lr=' has no value after '='"),
        ("a b=1", "'a b' is not a name (letters, digits and _)"),
    ],
)
def test_what_is_not_a_value_is_said_in_plain_words_not_the_toml_parsers(text, message):
    with pytest.raises(ValueError) as error:
        parse_name_values(text)
    assert str(error.value) == message
    assert "line" not in str(error.value) and "document" not in str(error.value)
