"""A spec's parameters (with the caller's overrides), its lets, and its input shape."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArchError, Span, register_source, suggest
from ..ops import Shape
from ..ops.args import MAX_DIM
from ..values import is_int, show, type_name
from ..syntax.ast import NameRef
from ..syntax.parser import parse_fragment
from .evaluator import evaluate


@dataclass(frozen=True)
class ParamText:
    """A parameter value as written on the command line (`-p depth=101`), read by the parameter's type:
    a string parameter takes a bare word as it is (`-p version=1_1`), anything else is an expression."""

    text: str
    source: str  # the pseudo-file errors point into, e.g. "<-p depth>"

    def span(self) -> Span:
        register_source(self.source, self.text)
        return Span(self.source, 1, 1, 1, len(self.text) + 1)

    def value(self, default):
        text = self.text.strip()
        if isinstance(default, str) and not (len(text) >= 2 and text[0] == text[-1] == '"'):
            return text
        register_source(self.source, self.text)
        offset = len(self.text) - len(self.text.lstrip())
        expr = parse_fragment(text or '""', "expr", self.source, 0, offset)
        if isinstance(expr, NameRef):  # a bare word for a number: the type check below says what was expected
            return expr.name
        return evaluate(expr, {})


def global_scope(e) -> dict:
    """Parameters (defaults, or overrides of the same type), then lets, in order; fills `e.config`."""
    known = {p.name: p for p in e.program.params}
    for name in e.overrides:
        if name not in known:
            listing = ", ".join(known) or "none"
            raise ArchError(f"unknown parameter '{name}'{suggest(name, known)}; this spec's parameters are: {listing}")
    scope: dict = {}
    for p in e.program.params:
        default = evaluate(p.default, scope)
        value = default
        if p.name in e.overrides:
            value = given = e.overrides[p.name]
            if isinstance(given, ParamText):
                value = given.value(default)
            if not same_type(default, value):
                where = given.span() if isinstance(given, ParamText) else p.span
                raise ArchError(f"parameter '{p.name}' expects a {type_name(default)} (its default is {show(default)}), "
                                f"got {type_name(value)} {show(value)}", where)
            if isinstance(default, float) and isinstance(value, int):
                value = float(value)
        scope[p.name] = value
        e.config[p.name] = value
    for let in e.program.lets:
        scope[let.name] = evaluate(let.value, scope)
    return scope


def input_shape(e, scope) -> Shape:
    if e.input_override is not None:
        dims, span = tuple(e.input_override), None
    elif e.program.input is None:
        raise ArchError("the spec declares no input (add e.g. `input 3x224x224`)", Span(e.program.main_path, 1, 1))
    else:
        decl = e.program.input
        span = decl.span
        if isinstance(decl.dims, tuple):
            dims = tuple(evaluate(d, scope) for d in decl.dims)
        else:
            dims = evaluate(decl.dims, scope)
            if is_int(dims):
                dims = (dims,)
            if not isinstance(dims, tuple):
                raise ArchError(f"input must be a shape like 3x224x224 or a list, got {show(dims)}", span)
    if len(dims) not in (1, 3):
        raise ArchError(f"input must be CxHxW (or a feature count), got {len(dims)} dimensions", span)
    for d in dims:
        if not is_int(d) or d <= 0:
            raise ArchError(f"input sizes must be positive integers, got {show(d)}", span)
        if d > MAX_DIM:
            raise ArchError(f"input size {d} is absurdly large (limit {MAX_DIM:,})", span)
    return tuple(dims)


def same_type(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return type(default) is type(value)
