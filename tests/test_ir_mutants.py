"""Behaviours of spikemem/ir that a mutation run (benchmarks/mutation_testing.py) found unpinned.

Each test checks a value against a reference written here (a formula, a hand count, the
message text a user reads), not against what the code under test returned before.
"""
from __future__ import annotations

import pytest

from spikemem.ir.expr import ExpressionError, evaluate


# -- expr.py: messages quote the whole expression, wherever in it the problem is ------------------

@pytest.mark.parametrize("text", ["n + 1", "1 + n", "-n", "max(n, 1)", "2 * (1 + n)"])
def test_an_unknown_param_is_named_with_the_whole_expression(text):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, {"a": 1, "b": 2})
    assert str(info.value) == f"expression {text!r} uses unknown param 'n' (declared params: a, b)"


def test_an_unknown_param_without_declared_params():
    with pytest.raises(ExpressionError, match=r"\(declared params: none\)$"):
        evaluate("n", {})


@pytest.mark.parametrize("text, message", [
    ("1 / (a - a)", "expression '1 / (a - a)' divides by zero"),
    ("a // 0", "expression 'a // 0' divides by zero"),
    ("1e308 * 10", "expression '1e308 * 10' is not a finite number"),
    ("max()", "expression 'max()': max expected at least 1 argument, got 0"),
    ("2 ** 65", "expression '2 ** 65': exponent 65 is outside [-64, 64]"),
])
def test_arithmetic_errors_name_the_expression(text, message):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, {"a": 1})
    assert str(info.value) == message


def test_the_largest_exponent_is_allowed():
    assert evaluate("2 ** 64", {}) == 2 ** 64
    assert evaluate("2 ** -64", {}) == 2.0 ** -64
    with pytest.raises(ExpressionError, match=r"exponent -65 is outside \[-64, 64\]"):
        evaluate("2 ** -65", {})
