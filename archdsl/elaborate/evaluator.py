"""A small, safe evaluator for spec expressions (never Python's eval).

Values are int, float, bool, str, tuple (lists) and dict (maps). Integer
arithmetic is exact; `/` is true division, `//` floor division. Every error
points at the sub-expression that caused it, and every value stays within
budget: integers within +-10^18, floats finite, strings and lists short.

    evaluate(parse("{18: [2, 2, 2, 2]}[depth][0] * 2"), {"depth": 18})  ->  4
"""
from __future__ import annotations

import math
import operator

from ..errors import ArchError, suggest
from ..syntax import ast as A
from ..values import MAX_INT, is_int, is_number, show, type_name

MAX_RANGE = 100_000  # longest list: range(), list concatenation
MAX_STEPS = 50_000  # list work per elaboration: comprehension steps, items summed, concatenated or repeated
#                    (the library's specs need at most ~120; 50,000 steps of a RegNet-style rule take ~0.5 s)
MAX_STRING = 10_000  # longest string


_steps = [0]  # list work done since reset_budget()


def reset_budget() -> None:
    """Start counting list work afresh (the elaborator calls this once per spec)."""
    _steps[0] = 0


def charge(n: int, span) -> None:
    """Count n steps of list work; refuse past MAX_STEPS (nested comprehensions, sums of long lists)."""
    _steps[0] += n
    if _steps[0] > MAX_STEPS:
        raise ArchError(f"the expressions do over {MAX_STEPS:,} steps of list work (comprehensions, sums of "
                        "long lists); archdsl refuses them", span)


def checked(value, span):
    """`value` if it is within the budgets above, else a located ArchError."""
    if is_int(value):
        if abs(value) > MAX_INT:
            raise ArchError(f"number too large: {show(value)} (the limit is 10^18)", span)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ArchError(f"the result is not a finite number ({value})", span)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ArchError(f"string of {len(value):,} characters is too long (limit {MAX_STRING:,})", span)
    elif isinstance(value, tuple) and len(value) > MAX_RANGE:
        raise ArchError(f"list of {len(value):,} items is too long (limit {MAX_RANGE:,})", span)
    return value


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod}
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


# ---------------------------------------------------------------- built-in functions


def _range(span, *args):
    if not 1 <= len(args) <= 3 or not all(is_int(a) for a in args):
        raise ArchError("range() takes 1 to 3 integers", span)
    if len(args) == 3 and args[2] == 0:
        raise ArchError("range() step must not be zero", span)
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:  # more than sys.maxsize elements
        n = MAX_INT
    if n > MAX_RANGE:
        raise ArchError(f"range() of {n:,} elements is too long (limit {MAX_RANGE:,})", span)
    return tuple(r)


def _numeric(fn, name, arity=(1, 1)):
    low, high = arity

    def call(span, *args):
        if not low <= len(args) <= high or not all(is_number(a) for a in args):
            wanted = "one number" if arity == (1, 1) else f"{low} to {high} numbers"
            got = ", ".join(type_name(a) for a in args) or "nothing"
            raise ArchError(f"{name}() takes {wanted}, got {got}", span)
        if name == "round" and len(args) == 2 and not is_int(args[1]):
            raise ArchError("round()'s number of digits must be an integer", span)
        try:
            return fn(*args)
        except (OverflowError, ValueError) as err:
            raise ArchError(f"{name}({', '.join(show(a) for a in args)}): {err}", span) from None

    return call


def _minmax(fn, name):
    def call(span, *args):
        values = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        if not values or not all(is_number(a) for a in values):
            raise ArchError(f"{name}() takes numbers or one list of numbers", span)
        return fn(values)

    return call


def _len(span, *args):
    if len(args) != 1 or not isinstance(args[0], (tuple, dict, str)):
        raise ArchError("len() takes one list, map or string", span)
    return len(args[0])


def _sum(span, *args):
    if len(args) != 1 or not isinstance(args[0], tuple) or not all(is_number(a) for a in args[0]):
        raise ArchError("sum() takes one list of numbers", span)
    return sum(args[0])


def _make_divisible(span, *args):
    """`make_divisible(v, divisor=8, min_value=divisor, round_limit=0.9)`: torchvision's and timm's channel
    rounding (MobileNet, EfficientNet, MnasNet, timm's SE): the nearest multiple of `divisor`, at least
    `min_value`, plus one more `divisor` if that lost more than 1 - round_limit of v (timm's SE: 0, never)."""
    if not 1 <= len(args) <= 4 or not all(is_number(a) for a in args) or not all(is_int(a) for a in args[1:3]):
        raise ArchError("make_divisible() takes a number, and optionally integers divisor and min_value and a "
                        "number round_limit", span)
    v, divisor = args[0], args[1] if len(args) > 1 else 8
    min_value = args[2] if len(args) > 2 else divisor
    round_limit = args[3] if len(args) > 3 else 0.9
    if divisor <= 0:
        raise ArchError(f"make_divisible(): the divisor must be positive, got {divisor}", span)
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < round_limit * v else rounded


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
    "round": _numeric(round, "round", (1, 2)),
    "sqrt": _numeric(math.sqrt, "sqrt"),
    "log": _numeric(math.log, "log", (1, 2)),
    "pow": _numeric(math.pow, "pow", (2, 2)),
    "make_divisible": _make_divisible,
    "len": _len,
    "sum": _sum,
}


# ---------------------------------------------------------------- the evaluator


def evaluate(expr: A.Expr, scope: dict):
    """Value of `expr` with names looked up in `scope` (a plain dict)."""
    return _EVAL[type(expr)](expr, scope)


def _literal(expr: A.Literal, scope):
    return expr.value


def _name(expr: A.NameRef, scope):
    if expr.name in scope:
        return scope[expr.name]
    raise ArchError(f"unknown name '{expr.name}'" + suggest(expr.name, scope), expr.span)


def _tensor(expr: A.TensorRef, scope):
    """`@name`: a block formal bound to a tensor, else an item resolved by the builder (scope["@"])."""
    resolve = scope.get("@")
    if resolve is None:
        raise ArchError("a tensor (@name) can only be used in a network or block body", expr.span)
    return resolve(expr, scope)


def _unary(expr: A.Unary, scope):
    value = evaluate(expr.operand, scope)
    if expr.op == "not":
        return not truth(value, expr.operand.span)
    if not is_number(value):
        raise ArchError(f"unary '{expr.op}' needs a number, got {type_name(value)} {show(value)}", expr.span)
    return checked(-value if expr.op == "-" else value, expr.span)


def _bool_op(expr: A.BoolOp, scope):
    stop = expr.op == "or"  # `or` stops at the first true operand, `and` at the first false one
    for operand in expr.operands:
        if truth(evaluate(operand, scope), operand.span) == stop:
            return stop
    return not stop


def _arith_chain(expr: A.Arith, scope):
    left = evaluate(expr.first, scope)
    for op, right_expr in expr.rest:
        left = checked(_arith(op, left, evaluate(right_expr, scope), expr.span, right_expr.span), expr.span)
        if isinstance(left, tuple):
            charge(len(left), expr.span)
    return left


def _compare(expr: A.Compare, scope):
    left = evaluate(expr.first, scope)
    for op, right_expr in expr.rest:
        right = evaluate(right_expr, scope)
        if op not in ("==", "!=") and not (is_number(left) and is_number(right)):
            raise ArchError(f"cannot compare {type_name(left)} {op} {type_name(right)}", expr.span)
        if not _COMPARE[op](left, right):
            return False
        left = right
    return True


def _if(expr: A.IfExpr, scope):
    if truth(evaluate(expr.condition, scope), expr.condition.span):
        return evaluate(expr.then, scope)
    return evaluate(expr.otherwise, scope)


def _list(expr: A.ListExpr, scope):
    return checked(tuple(evaluate(item, scope) for item in expr.items), expr.span)


def _list_comp(expr: A.ListComp, scope):
    values = evaluate(expr.iterable, scope)
    if not isinstance(values, tuple):
        raise ArchError(f"a list comprehension iterates over a list, got {type_name(values)}", expr.iterable.span)
    charge(len(values), expr.span)  # before the work: a comprehension over 10^5 values is refused at once
    out = []
    inner = dict(scope)
    for value in values:
        inner[expr.var] = value
        if expr.condition is None or truth(evaluate(expr.condition, inner), expr.condition.span):
            out.append(evaluate(expr.item, inner))
    return checked(tuple(out), expr.span)


def _map(expr: A.MapExpr, scope):
    result = {}
    for key_expr, value_expr in expr.entries:
        result[_key(evaluate(key_expr, scope), key_expr.span)] = evaluate(value_expr, scope)
    return result


def _key(key, span):
    if isinstance(key, (tuple, dict)):
        raise ArchError(f"a map key must be a number, bool or string, not a {type_name(key)}", span)
    return key


def _index(expr: A.Index, scope):
    target, key = evaluate(expr.target, scope), evaluate(expr.index, scope)
    if isinstance(target, tuple):
        if not is_int(key):
            raise ArchError(f"a list index must be an int, got {type_name(key)} {show(key)}", expr.index.span)
        if not -len(target) <= key < len(target):
            raise ArchError(f"index {key} is out of range for a list of {len(target)}", expr.index.span)
        return target[key]
    if isinstance(target, dict):
        if _key(key, expr.index.span) not in target:
            options = ", ".join(show(k) for k in target)
            raise ArchError(f"{show(key)} is not a key of this map; expected one of {options}", expr.index.span)
        return target[key]
    raise ArchError(f"cannot index a {type_name(target)}", expr.target.span)


def _call(expr: A.FuncCall, scope):
    fn = BUILTINS.get(expr.func)
    if fn is None:
        raise ArchError(f"unknown function '{expr.func}'" + suggest(expr.func, BUILTINS), expr.span)
    args = [evaluate(a, scope) for a in expr.args]
    charge(sum(len(a) for a in args if isinstance(a, tuple)), expr.span)
    return checked(fn(expr.span, *args), expr.span)


def _interpolated(expr: A.Interpolated, scope):
    out = []
    for part in expr.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = evaluate(part, scope)
        if isinstance(value, (tuple, dict)):
            raise ArchError(f"cannot put a {type_name(value)} into a name", part.span)
        out.append(value if isinstance(value, str) else show(value))
    return checked("".join(out), expr.span)


_EVAL = {
    A.Literal: _literal, A.NameRef: _name, A.Unary: _unary, A.BoolOp: _bool_op, A.Arith: _arith_chain,
    A.Compare: _compare, A.IfExpr: _if, A.ListExpr: _list, A.ListComp: _list_comp, A.MapExpr: _map, A.Index: _index,
    A.FuncCall: _call, A.Interpolated: _interpolated, A.TensorRef: _tensor,
}


def truth(value, span) -> bool:
    if isinstance(value, bool):
        return value
    raise ArchError(f"expected a condition (true/false), got {type_name(value)} {show(value)}", span)


def _arith(op: str, left, right, span, right_span):
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_STRING:
            raise ArchError(f"string of {len(left) + len(right):,} characters is too long (limit {MAX_STRING:,})", span)
        return left + right
    if op == "+" and isinstance(left, tuple) and isinstance(right, tuple):
        if len(left) + len(right) > MAX_RANGE:
            raise ArchError(f"list of {len(left) + len(right):,} items is too long (limit {MAX_RANGE:,})", span)
        return left + right
    if not (is_number(left) and is_number(right)):
        raise ArchError(
            f"'{op}' needs two numbers, got {type_name(left)} {show(left)} and {type_name(right)} {show(right)}", span)
    if op in ("/", "//", "%") and right == 0:
        raise ArchError(f"division by zero in '{op}' (the right-hand side is 0)", right_span)
    try:
        return _ARITH[op](left, right)
    except OverflowError:
        raise ArchError(f"'{op}' overflows: {show(left)} {op} {show(right)}", span) from None
