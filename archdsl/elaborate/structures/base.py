"""The base of every structure: the registry, `Structure`, `Call`, and the argument converters."""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, NamedTuple
from dataclasses import field as _field

from ...errors import ArchError, Span
from ...ir import Join
from ...ops.args import ArgSpec
from ...syntax import ast as A
from ...values import is_int, is_number, show
from ..names import VALID_NAME, Names

STRUCTURES: dict[str, "Structure"] = {}


def structure(cls):
    """Register a Structure subclass under its keyword."""
    if cls.keyword in STRUCTURES:
        raise ValueError(f"structure {cls.keyword!r} registered twice")
    STRUCTURES[cls.keyword] = cls()
    return cls


def arg(default, convert, doc: str = ""):
    """A Config field: its default and the converter that checks a given value (raises ValueError)."""
    return _field(default=default, metadata={"convert": convert, "doc": doc})


class Call(NamedTuple):
    """One application of a structure: the AST, its typed arguments and where each was given."""

    unit: A.Structure
    config: object  # the structure's Config
    spans: dict[str, Span]  # argument name -> the span of its value (only given arguments)
    names: Names  # the namespace its nodes are named in
    scope: dict  # the names its body sees

    @property
    def span(self) -> Span:
        return self.unit.span

    def span_of(self, name: str) -> Span:
        return self.spans.get(name, self.unit.span)


class Structure:
    keyword: ClassVar[str] = ""
    Config: ClassVar[type] = object
    takes_shortcut: ClassVar[bool] = False
    container: ClassVar[str] = "named"

    def arg_specs(self) -> tuple[ArgSpec, ...]:
        specs = self.__dict__.get("_specs")
        if specs is None:
            specs = self._specs = tuple(ArgSpec(f.name, f.metadata["convert"],
                                                None if f.default is MISSING else f.default,
                                                doc=f.metadata.get("doc", "")) for f in fields(self.Config))
        return specs

    def build(self, e, call: Call, cur: int) -> int:  # pragma: no cover - every structure overrides it
        raise NotImplementedError

    def finish(self, e) -> None:
        """Called once the whole network is built (linear-decay survival needs to know every block)."""


# ---------------------------------------------------------------- converters (messages read "<kind> <arg> ...")


def one_of(*options: str):
    def convert(v):
        if not isinstance(v, str) or v not in options:
            raise ValueError(f"must be one of {', '.join(options)}; got {show(v)}")
        return v

    convert.options = options
    return convert


def number(low: float | None = None, high: float | None = None, low_open: bool = False):
    def convert(v):
        if not is_number(v):
            raise ValueError(f"must be a number, got {show(v)}")
        if (low is not None and (v < low or (low_open and v == low))) or (high is not None and v > high):
            raise ValueError(f"must be in {'(' if low_open else '['}{low:g}, {high:g}], got {show(v)}")
        return float(v)

    return convert


def flag(v) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, got {show(v)}")
    return v


def name(v) -> str:
    if not isinstance(v, str) or not VALID_NAME.fullmatch(v):
        raise ValueError(f"must be a valid name, got {show(v)}")
    return v


def text(v) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError(f"must be a non-empty string, got {show(v)}")
    return v


def positive_odd(v) -> int:
    if not is_int(v) or v <= 0 or v % 2 == 0:
        raise ValueError(f"must be a positive odd integer, got {show(v)}")
    return v


def anything(v):
    return v


def need_int_in(value, low: int, high: int, message: str, span: Span) -> int:
    if not is_int(value) or not low <= value <= high:
        raise ArchError(f"{message}, got {show(value)}", span)
    return value




def record_join(e, nid: int, roles) -> int:
    """Record the roles of a join's inputs (what its structure knows: which input is the shortcut)."""
    e.g.joins[nid] = Join(nid, tuple(roles))
    return nid


@dataclass
class Pending:
    """A stage's stride, waiting for the first block called inside the stage."""

    stride: object
    span: Span
    used: bool = False


def empty_branch(what: str, span: Span) -> ArchError:
    return ArchError(f"this {what} branch is empty: it passes its input on unchanged, so the {what} would join "
                     "the input with itself (write `identity` for an identity branch)", span)

