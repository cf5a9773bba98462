"""Assertions on metrics: parsed with `ast`, evaluated without `eval`."""

from __future__ import annotations

import pytest

from nb2pipe.testing.assertions import AssertionSyntaxError, parse_assertion

METRICS = {"accuracy": 0.82, "f1_macro": 0.4, "loss": -0.25}


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("accuracy >= 0.8", True),
        ("accuracy > 0.9", False),
        ("f1_macro > 0.5", False),
        ("0.5 < accuracy <= 1", True),
        ("0.5 < f1_macro <= 1", False),
        ("accuracy >= 0.8 and f1_macro > 0.3", True),
        ("accuracy >= 0.8 and f1_macro > 0.5", False),
        ("accuracy > 0.9 or f1_macro > 0.3", True),
        ("loss < -0.2", True),
        ("loss == -0.25", True),
        ("loss != -0.25", False),
        ("accuracy > f1_macro", True),
        ("(accuracy > 0.9 or loss < 0) and f1_macro >= 0.4", True),
    ],
)
def test_evaluation(text, holds):
    assert parse_assertion(text).evaluate(METRICS) is holds


def test_names_and_values_for_the_failure_message():
    assertion = parse_assertion("  accuracy > 0.9 or (f1_macro > 0.5 and accuracy > 0.95) ")
    assert assertion.text == "accuracy > 0.9 or (f1_macro > 0.5 and accuracy > 0.95)"
    assert assertion.names == ("accuracy", "f1_macro")
    assert assertion.values(METRICS) == "accuracy = 0.82, f1_macro = 0.4"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("accuracy >", "not valid syntax"),
        ("", "expected a comparison"),
        ("accuracy", "expected a comparison"),
        ("0.8", "expected a comparison"),
        ("accuracy and f1_macro", "each side of 'and' / 'or' must be a comparison"),
        ("accuracy in [0.8, 0.9]", "'in' is not allowed"),
        ("accuracy is 1", "'is' is not allowed"),
        ("accuracy - 0.1 > 0.5", "only metric names and numbers can be compared, not binop"),
        ("abs(loss) < 1", "not call"),
        ("__import__('os').system('true') == 0", "not call"),
        ("model.score > 1", "not attribute"),
        ("accuracy > 'high'", "not constant"),
        ("accuracy == True", "not constant"),
        ("-accuracy < 0", "not unaryop '-accuracy'"),
        ("~1 < accuracy", "not unaryop"),
        ("not accuracy > 1", "expected a comparison"),
        ("(lambda: 1)() > 0", "not call"),
        ("accuracy > 0.8; import os", "not valid syntax"),
    ],
)
def test_anything_else_is_refused(text, reason):
    with pytest.raises(AssertionSyntaxError) as info:
        parse_assertion(text)
    assert reason in str(info.value)
    assert str(info.value).startswith(f"assertion {text!r}: ")


def test_a_refused_assertion_is_bad_input():
    with pytest.raises(AssertionSyntaxError) as info:
        parse_assertion("accuracy >")
    assert info.value.exit_code == 2
