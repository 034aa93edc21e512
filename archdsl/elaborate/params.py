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


def input_shapes(e, scope) -> list[tuple[str, Shape, Span]]:
    """(name, shape, where declared) of each input: the first is "input" unless named. `e.input_override`
    is the first input's shape, or {name: shape} for any of them (`--input depth=1x224x224`)."""
    program = e.program
    decls = ([program.input] if program.input is not None else []) + list(program.more_inputs)
    override = e.input_override
    if not isinstance(override, dict):
        first = decls[0].name or "input" if decls else "input"
        override = {} if override is None else {first: tuple(override)}
    if not decls and not override:
        raise ArchError("the spec declares no input (add e.g. `input 3x224x224`)", Span(program.main_path, 1, 1))
    names = [d.name or "input" for d in decls] or ["input"]
    unknown = [n for n in override if n not in names]
    if unknown:
        raise ArchError(f"no input named '{unknown[0]}'{suggest(unknown[0], names)}; the inputs are: {', '.join(names)}")
    found = []
    for name, decl in zip(names, decls or [None]):
        span = decl.span if decl is not None else Span(program.main_path, 1, 1)
        if name in override:
            dims, where = tuple(override[name]), None
        else:
            dims, where = _declared_dims(decl, scope), decl.span
        found.append((name, _checked_shape(dims, where), span))
    return found


def _declared_dims(decl, scope) -> tuple:
    if isinstance(decl.dims, tuple):
        return tuple(evaluate(d, scope) for d in decl.dims)
    dims = evaluate(decl.dims, scope)
    if is_int(dims):
        dims = (dims,)
    if not isinstance(dims, tuple):
        raise ArchError(f"input must be a shape like 3x224x224 or a list, got {show(dims)}", decl.span)
    return dims


def _checked_shape(dims: tuple, span) -> Shape:
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
