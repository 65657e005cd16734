"""A small, safe arithmetic language for sizes and values in model files.

``"6.0 * n_bits"``, ``"n_cues + n_bits"`` or ``"max(1, n // 2)"``: numbers,
parameter names, ``+ - * / // % **``, unary minus, parentheses and the
functions ``min``, ``max``, ``int``, ``round``, ``abs``. Parsed with
:mod:`ast` and evaluated by walking the tree; nothing is ever passed to
``eval``.
"""
from __future__ import annotations

import ast
import math
import operator

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"min": min, "max": max, "int": int, "round": round, "abs": abs}
_MAX_EXPONENT = 64  # keeps `9 ** 9 ** 9` from hanging the reader


class ExpressionError(ValueError):
    """An expression is malformed or names an unknown parameter."""


def evaluate(text: str, params: dict[str, float]) -> float | int:
    """Evaluate ``text`` with the given parameter values.

    Raises :class:`ExpressionError` naming the unknown parameter or the
    construct that is not allowed.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {text!r}: {exc.msg}") from None
    return _eval(tree.body, params, text)


def _eval(node: ast.AST, params: dict[str, float], text: str) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ExpressionError(
                f"expression {text!r} uses unknown param '{node.id}' (declared params: {known})")
        return params[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, params, text), _eval(node.right, params, text)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ExpressionError(f"expression {text!r}: exponent {right} is outside "
                                  f"[-{_MAX_EXPONENT}, {_MAX_EXPONENT}]")
        return _apply(_BINARY[type(node.op)], (left, right), text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, params, text))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in _FUNCTIONS and not node.keywords:
        return _apply(_FUNCTIONS[node.func.id], [_eval(a, params, text) for a in node.args], text)
    raise ExpressionError(
        f"expression {text!r}: '{ast.unparse(node)}' is not allowed (numbers, params, "
        f"+ - * / // % **, min, max, int, round, abs)")


def _apply(fn, args, text: str) -> float | int:
    """Call an operator or function, turning Python's arithmetic errors into ExpressionError."""
    try:
        value = fn(*args)
    except ZeroDivisionError:
        raise ExpressionError(f"expression {text!r} divides by zero") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ExpressionError(f"expression {text!r}: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"expression {text!r} is not a finite number")
    return value
