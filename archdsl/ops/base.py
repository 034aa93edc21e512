"""The closed set of op kinds: base class, argument schema and registry.

An op kind is a frozen dataclass whose fields are its attributes. It is
defined once, with everything the analyses need:

    kind         the name written in specs (`conv`, `bn`, ...)
    family       a colour/grouping for diagrams and tables
    ARGS         how spec arguments map onto the fields (types, defaults)
    infer(ins)   output shape from input shapes; raises ShapeError
    params(ins)  learnable parameter count
    macs(ins, o) multiply-accumulates, torchvision convention
    extra_ops(ins, o)  elementwise work, for the "all ops" count (docs/language.md, "Counting conventions")
    weight_layer True for layers counted in depth (conv, linear)

Backends register emitters keyed by `kind` (backends/), so a new op is one
class here plus one emitter per backend.

Shapes are tuples without the batch dimension: (C, H, W) or (features,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Callable, ClassVar

Shape = tuple[int, ...]

REGISTRY: dict[str, type[Op]] = {}


class ShapeError(Exception):
    """Raised by an op's shape rule; the elaborator adds the spec location."""


def register(cls):
    if cls.kind in REGISTRY:
        raise ValueError(f"op kind {cls.kind!r} registered twice")
    REGISTRY[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class ArgSpec:
    """One argument a spec may pass: `conv(64, 3, stride=2)`."""

    name: str
    convert: Callable  # (value) -> attribute value; raises ValueError with a message
    default: object = None  # REQUIRED: must be given
    positional: bool = False
    doc: str = ""


REQUIRED = object()


@dataclass(frozen=True)
class Op:
    kind: ClassVar[str] = ""
    family: ClassVar[str] = "misc"
    ARGS: ClassVar[tuple[ArgSpec, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    weight_layer: ClassVar[bool] = False

    def resolve(self, inputs: list[Shape]) -> "Op":
        """Fill attributes that depend on the input shape (a depthwise conv's groups).

        Called once by the elaborator before `infer`; the IR stores the result,
        so every later pass and backend sees concrete attributes.
        """
        return self

    def infer(self, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def params(self, inputs: list[Shape]) -> int:
        return 0

    def macs(self, inputs: list[Shape], out: Shape) -> int:
        return 0

    def state(self, inputs: list[Shape]) -> tuple[tuple[str, Shape], ...]:
        """(suffix, shape) of each tensor the torch module keeps, in torch's order.

        Parameters and buffers, as in `state_dict`: conv -> weight, bias;
        bn -> weight, bias, running_mean, running_var, num_batches_tracked.
        """
        return ()

    def extra_ops(self, inputs: list[Shape], out: Shape) -> int:
        """Elementwise work not in `macs` (see docs/language.md, "Counting conventions"); 0 by default."""
        return 0

    def attributes(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """Short text for tables and diagrams: `conv 3x3/2, 64`."""
        return self.kind


# ---------------------------------------------------------------- converters


def _int_value(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected {what}, got {_tname(v)} {_show(v)}")
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"expected {what}, got the fraction {v}")
        v = int(v)
    return v


def _tname(v):
    from ..expressions import type_name

    return type_name(v)


def _show(v):
    from ..expressions import show

    return show(v)


MAX_DIM = 1 << 24  # channels, features or spatial extent: 16.7M is already absurd


def positive_int(v) -> int:
    v = _int_value(v, "a positive integer")
    if v <= 0:
        raise ValueError(f"expected a positive integer, got {v}")
    if v > MAX_DIM:
        raise ValueError(f"{v} is absurdly large (the limit for one size is {MAX_DIM:,})")
    return v


def nonneg_int(v) -> int:
    v = _int_value(v, "a non-negative integer")
    if v < 0:
        raise ValueError(f"expected a non-negative integer, got {v}")
    if v > MAX_DIM:
        raise ValueError(f"{v} is absurdly large (the limit is {MAX_DIM:,})")
    return v


def pair(convert):
    """An int, or a list of two: kernel 3 -> (3, 3); [1, 7] -> (1, 7)."""

    def conv(v):
        if isinstance(v, tuple):
            if len(v) != 2:
                raise ValueError(f"expected one integer or a list of two, got a list of {len(v)}")
            return (convert(v[0]), convert(v[1]))
        x = convert(v)
        return (x, x)

    return conv


def padding(v) -> tuple[int, int, int, int]:
    """An int p, [ph, pw], or per side [top, bottom, left, right]."""
    if isinstance(v, tuple):
        if len(v) == 2:
            h, w = nonneg_int(v[0]), nonneg_int(v[1])
            return (h, h, w, w)
        if len(v) == 4:
            return tuple(nonneg_int(x) for x in v)  # type: ignore[return-value]
        raise ValueError(f"padding is an int, [h, w] or [top, bottom, left, right]; got a list of {len(v)}")
    p = nonneg_int(v)
    return (p, p, p, p)


def number(v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {_tname(v)} {_show(v)}")
    return float(v)


def probability(v) -> float:
    v = number(v)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"expected a probability in [0, 1], got {v}")
    return v


def positive_number(v) -> float:
    v = number(v)
    if v <= 0:
        raise ValueError(f"expected a positive number, got {v}")
    return v


def boolean(v) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {_tname(v)} {_show(v)}")
    return v


def choice(*options: str):
    def conv(v):
        if v not in options or not isinstance(v, str):
            raise ValueError(f"expected one of {', '.join(options)}; got {_show(v)}")
        return v

    conv.options = options  # bare names in specs are accepted for these
    return conv


# ---------------------------------------------------------------- shape helpers


def spatial(shape: Shape, what: str) -> Shape:
    if len(shape) != 3:
        raise ShapeError(f"{what} needs a CxHxW input, got {fmt(shape)}")
    return shape


def window_out(size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, ceil: bool, axis: str) -> int:
    """Output extent of a sliding window, with torch's rounding rules."""
    effective = dilation * (kernel - 1) + 1
    span = size + pad_lo + pad_hi - effective
    if span < 0:
        raise ShapeError(
            f"the {axis} of the input ({size}, padded to {size + pad_lo + pad_hi}) is smaller than the window ({effective})"
        )
    if ceil:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad_lo:  # the last window must start inside the input
            out -= 1
    else:
        out = span // stride + 1
    return out


def check_tiling(size: int, kernel: int, stride: int, pads: tuple, ceil: bool, axis: str):
    """A window that tiles its input (kernel == stride, no padding) must divide it.

    Otherwise the last rows or columns are silently dropped: a 2x2/2 pool on a
    15x15 map ignores row 15. (Overlapping windows, like ResNet's 7x7/2 stem,
    round as torch does.)
    """
    if kernel == stride and stride > 1 and not any(pads) and not ceil and size % stride:
        raise ShapeError(
            f"stride {stride} does not divide the input {axis} {size}: the last {size % stride} would be dropped"
            " (use an input size divisible by the stride, padding, or ceil=true)"
        )


def fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def numel(shape: Shape) -> int:
    return math.prod(shape)
