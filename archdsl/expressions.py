"""A small, safe evaluator for spec expressions (never Python's eval).

Values are int, float, bool, str, tuple (lists) and dict (maps). Integer
arithmetic is exact; `/` is true division, `//` floor division. Every error
points at the sub-expression that caused it.

    evaluate(parse("{18: [2, 2, 2, 2]}[depth][0] * 2"), {"depth": 18})  ->  4
"""
from __future__ import annotations

import math
import operator

from . import ast_nodes as A
from .errors import ArchError, suggest

MAX_RANGE = 100_000  # longest list range() may build
MAX_INT = 10**18  # larger integers are refused, so sizes stay sane


def type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "string", tuple: "list", dict: "map"}.get(type(value), type(value).__name__)


def show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_int(v, span):
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        raise ArchError(f"number too large: {v}", span)
    return v


_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _range(span, *args):
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise ArchError("range() takes 1 to 3 integers", span)
    if len(args) == 3 and args[2] == 0:
        raise ArchError("range() step must not be zero", span)
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ArchError(f"range() of {len(r)} elements is too long (limit {MAX_RANGE})", span)
    return tuple(r)


def _numeric(fn, name):
    def call(span, *args):
        if not args or not all(_is_number(a) for a in args):
            raise ArchError(f"{name}() takes numbers, got {', '.join(type_name(a) for a in args) or 'nothing'}", span)
        return fn(*args)

    return call


def _minmax(fn, name):
    def call(span, *args):
        values = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        if not values or not all(_is_number(a) for a in values):
            raise ArchError(f"{name}() takes numbers or one list of numbers", span)
        return fn(values)

    return call


def _len(span, *args):
    if len(args) != 1 or not isinstance(args[0], (tuple, dict, str)):
        raise ArchError("len() takes one list, map or string", span)
    return len(args[0])


def _sum(span, *args):
    if len(args) != 1 or not isinstance(args[0], tuple) or not all(_is_number(a) for a in args[0]):
        raise ArchError("sum() takes one list of numbers", span)
    return sum(args[0])


def _error(span, *args):
    """`error("depth must be 6n+2")`: stop with a located message (for spec-level checks)."""
    raise ArchError(" ".join(a if isinstance(a, str) else show(a) for a in args) or "error", span)


BUILTINS = {
    "error": _error,
    "range": _range,
    "min": _minmax(min, "min"),
    "max": _minmax(max, "max"),
    "abs": _numeric(abs, "abs"),
    "int": _numeric(int, "int"),
    "float": _numeric(float, "float"),
    "floor": _numeric(math.floor, "floor"),
    "ceil": _numeric(math.ceil, "ceil"),
    "round": _numeric(round, "round"),
    "len": _len,
    "sum": _sum,
}


def evaluate(expr: A.Expr, scope: dict):
    """Value of `expr` with names looked up in `scope` (a plain dict)."""
    if isinstance(expr, A.Literal):
        return expr.value
    if isinstance(expr, A.NameRef):
        if expr.name in scope:
            return scope[expr.name]
        raise ArchError(f"unknown name '{expr.name}'" + suggest(expr.name, scope), expr.span)
    if isinstance(expr, A.Unary):
        value = evaluate(expr.operand, scope)
        if expr.op == "not":
            return not _truth(value, expr.operand.span)
        if not _is_number(value):
            raise ArchError(f"unary '{expr.op}' needs a number, got {type_name(value)} {show(value)}", expr.span)
        return -value if expr.op == "-" else value
    if isinstance(expr, A.Binary):
        if expr.op in ("and", "or"):
            left = _truth(evaluate(expr.left, scope), expr.left.span)
            if (expr.op == "and") != left:
                return left
            return _truth(evaluate(expr.right, scope), expr.right.span)
        return _arith(expr, evaluate(expr.left, scope), evaluate(expr.right, scope))
    if isinstance(expr, A.Compare):
        left = evaluate(expr.first, scope)
        for op, right_expr in expr.rest:
            right = evaluate(right_expr, scope)
            if op not in ("==", "!=") and not (_is_number(left) and _is_number(right)):
                raise ArchError(f"cannot compare {type_name(left)} {op} {type_name(right)}", expr.span)
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True
    if isinstance(expr, A.IfExpr):
        if _truth(evaluate(expr.condition, scope), expr.condition.span):
            return evaluate(expr.then, scope)
        return evaluate(expr.otherwise, scope)
    if isinstance(expr, A.ListExpr):
        return tuple(evaluate(item, scope) for item in expr.items)
    if isinstance(expr, A.MapExpr):
        result = {}
        for key_expr, value_expr in expr.entries:
            key = evaluate(key_expr, scope)
            if isinstance(key, (tuple, dict)):
                raise ArchError(f"a map key must be a number, bool or string, not a {type_name(key)}", key_expr.span)
            result[key] = evaluate(value_expr, scope)
        return result
    if isinstance(expr, A.Index):
        return _index(expr, evaluate(expr.target, scope), evaluate(expr.index, scope))
    if isinstance(expr, A.FuncCall):
        fn = BUILTINS.get(expr.func)
        if fn is None:
            raise ArchError(f"unknown function '{expr.func}'" + suggest(expr.func, BUILTINS), expr.span)
        return _check_int(fn(expr.span, *(evaluate(a, scope) for a in expr.args)), expr.span)
    if isinstance(expr, A.Interpolated):
        out = []
        for part in expr.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = evaluate(part, scope)
                if isinstance(value, (tuple, dict)):
                    raise ArchError(f"cannot put a {type_name(value)} into a name", part.span)
                out.append(show(value) if not isinstance(value, str) else value)
        return "".join(out)
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover - parser never builds one


def _truth(value, span) -> bool:
    if isinstance(value, bool):
        return value
    raise ArchError(f"expected a condition (true/false), got {type_name(value)} {show(value)}", span)


def _arith(expr: A.Binary, left, right):
    op = expr.op
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, tuple) and isinstance(right, tuple):
        if len(left) + len(right) > MAX_RANGE:
            raise ArchError("list too long", expr.span)
        return left + right
    if not (_is_number(left) and _is_number(right)):
        raise ArchError(
            f"'{op}' needs two numbers, got {type_name(left)} {show(left)} and {type_name(right)} {show(right)}",
            expr.span,
        )
    if op in ("/", "//", "%") and right == 0:
        raise ArchError(f"division by zero in '{op}' (the right-hand side is 0)", expr.right.span)
    return _check_int(_ARITH[op](left, right), expr.span)


def _index(expr: A.Index, target, key):
    if isinstance(target, tuple):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ArchError(f"a list index must be an int, got {type_name(key)} {show(key)}", expr.index.span)
        if not -len(target) <= key < len(target):
            raise ArchError(f"index {key} is out of range for a list of {len(target)}", expr.index.span)
        return target[key]
    if isinstance(target, dict):
        if key not in target:
            options = ", ".join(show(k) for k in target)
            raise ArchError(f"{show(key)} is not a key of this map; expected one of {options}", expr.index.span)
        return target[key]
    raise ArchError(f"cannot index a {type_name(target)}", expr.target.span)
