"""How spec arguments become op attributes: `ArgSpec` and the converters.

    ArgSpec("kernel", pair(positive_int), REQUIRED, positional=True)   conv(64, 3) -> kernel (3, 3)

A converter takes the evaluated spec value and returns the attribute, or
raises ValueError with a message; the elaborator adds the argument's location.
`choice(...)` converters accept a bare word in specs (`shortcut=zeropad`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..values import show, type_name

REQUIRED = object()
MAX_DIM = 1 << 24  # channels, features or spatial extent: 16.7M is already absurd


@dataclass(frozen=True)
class ArgSpec:
    """One argument a spec may pass: `conv(64, 3, stride=2)`."""

    name: str
    convert: Callable  # (value) -> attribute value; raises ValueError with a message
    default: object = None  # REQUIRED: must be given
    positional: bool = False
    doc: str = ""


def _int_value(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected {what}, got {type_name(v)} {show(v)}")
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"expected {what}, got the fraction {v}")
        v = int(v)
    return v


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
        raise ValueError(f"expected a number, got {type_name(v)} {show(v)}")
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
        raise ValueError(f"expected true or false, got {type_name(v)} {show(v)}")
    return v


def choice(*options: str):
    def conv(v):
        if not isinstance(v, str) or v not in options:
            raise ValueError(f"expected one of {', '.join(options)}; got {show(v)}")
        return v

    conv.options = options  # bare names in specs are accepted for these
    return conv


def text(v) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {type_name(v)} {show(v)}")
    return v


def anything(v):
    return v
