"""One argument binder for layers, block calls and structures.

Each callee describes its arguments as `ArgSpec`s (ops/args.py): a layer its
op's ARGS, a block its formals, a structure its typed config record. The
binder matches a call's positional and keyword arguments to them, evaluates
each value once, converts it, and reports every mistake at the argument:

    conv(16, 3, strid=2)   ->  layer 'conv' has no argument 'strid' (did you mean 'stride'?); expected one of: ...

A bare unbound name is a symbol where the converter enumerates its options
(`residual(shortcut=zeropad)`). Defaults: a constant (converted), REQUIRED, or
a `Deferred` expression evaluated after the given arguments, in a scope that
sees the earlier ones (a block's `width=planes // 4`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ArchError, Span, suggest
from ..ops.args import REQUIRED, ArgSpec
from ..syntax import ast as A
from .evaluator import evaluate


@dataclass(frozen=True)
class Deferred:
    """A default that is an expression (block formals), evaluated after the given arguments."""

    expr: A.Expr


@dataclass
class Bound:
    values: dict = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)  # the span of each given argument's value

    def span(self, name: str, fallback: Span) -> Span:
        return self.spans.get(name, fallback)


@dataclass(frozen=True)
class _Signature:
    """What binding needs of an ArgSpec tuple, computed once per tuple."""

    by_name: dict
    positional: list
    defaults: dict  # name -> converted constant default (REQUIRED and Deferred ones left out)


_SIGNATURES: dict[int, tuple[tuple, _Signature]] = {}


def _signature(specs: tuple[ArgSpec, ...]) -> _Signature:
    hit = _SIGNATURES.get(id(specs))
    if hit is not None and hit[0] is specs:
        return hit[1]
    defaults = {s.name: (s.convert(s.default) if s.default is not None else None) for s in specs
                if s.default is not REQUIRED and not isinstance(s.default, Deferred)}
    sig = _Signature({s.name: s for s in specs}, [s for s in specs if s.positional], defaults)
    if len(_SIGNATURES) > 4096:  # block templates of many loads: start afresh rather than grow
        _SIGNATURES.clear()
    _SIGNATURES[id(specs)] = (specs, sig)  # the tuple is kept alive, so its id is not reused
    return sig


def bind(args: tuple[A.Arg, ...], specs: tuple[ArgSpec, ...], scope: dict, what: str, span: Span,
         style: str = "layer") -> Bound:
    """Bind the given arguments (positional first, then keywords); defaults are filled by `fill_defaults`."""
    sig = _signature(specs)
    by_name, positional = sig.by_name, sig.positional
    bound = Bound()
    seen_keyword = False
    for arg in args:
        if arg.name is None:
            if seen_keyword:
                raise ArchError("a positional argument cannot follow a keyword argument", arg.span)
            if len(bound.values) >= len(positional):  # only positional ones are bound so far
                raise _too_many(what, positional, arg.span)
            spec = positional[len(bound.values)]
        else:
            seen_keyword = True
            spec = by_name.get(arg.name)
            if spec is None:
                listing = ", ".join(by_name) or "none"
                raise ArchError(f"{what} has no argument '{arg.name}'{suggest(arg.name, by_name)}; "
                                f"expected one of: {listing}", arg.span)
        if spec.name in bound.values:
            raise ArchError(f"argument '{spec.name}' given twice", arg.span)
        raw = value_of(arg.value, scope, getattr(spec.convert, "options", None))
        bound.values[spec.name] = convert(spec, raw, what, arg.value.span, style)
        bound.spans[spec.name] = arg.value.span
    return bound


def _too_many(what: str, positional, span: Span) -> ArchError:
    names = f" ({', '.join(s.name for s in positional)})" if positional else ""
    return ArchError(f"{what} takes at most {len(positional)} positional argument(s){names}", span)


def value_of(expr: A.Expr, scope: dict, options):
    """Evaluate an argument; a bare unbound name is a symbol where the options are enumerated."""
    if options is not None and isinstance(expr, A.NameRef) and expr.name not in scope:
        return expr.name
    return evaluate(expr, scope)


def convert(spec: ArgSpec, raw, what: str, span: Span, style: str = "layer"):
    """The converted value; a ValueError becomes "layer 'conv' argument 'kernel': ..." or "residual scale must ..."."""
    try:
        return spec.convert(raw)
    except ValueError as err:
        message = f"{what} argument '{spec.name}': {err}" if style == "layer" else f"{what} {spec.name} {err}"
        raise ArchError(message, span) from None


def fill_defaults(bound: Bound, specs: tuple[ArgSpec, ...], what: str, span: Span, scope: dict | None = None,
                  style: str = "layer") -> dict:
    """Every argument's value: given, else its default (a Deferred one is evaluated in `scope`, which grows)."""
    defaults = _signature(specs).defaults
    given = bound.values
    values = {}
    for spec in specs:
        if spec.name in given:
            values[spec.name] = given[spec.name]
        elif spec.name in defaults:
            values[spec.name] = defaults[spec.name]
        elif spec.default is REQUIRED:
            raise ArchError(f"{what} needs argument '{spec.name}'" + (f" ({spec.doc})" if spec.doc else ""), span)
        else:
            values[spec.name] = convert(spec, evaluate(spec.default.expr, scope), what, spec.default.expr.span, style)
        if scope is not None:
            scope[spec.name] = values[spec.name]
    return values
