"""Multi-input ops: the joins of residual, parallel, dense and fractal structures.

Inputs are ordered (edge `index` in the IR): for `concat` the order is the
channel order of the result.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import Op, ShapeError, fmt, numel, register


def _same_shapes(kind: str, inputs):
    first = inputs[0]
    for i, shape in enumerate(inputs[1:], start=1):
        if shape != first:
            raise ShapeError(f"{kind} needs inputs of one shape, got {fmt(first)} (input 0) and {fmt(shape)} (input {i})")
    return first


@dataclass(frozen=True)
class _Elementwise(Op):
    family = "merge"
    min_inputs = 2
    max_inputs = None

    def infer(self, inputs):
        return _same_shapes(self.kind, inputs)

    def extra_ops(self, inputs, out):
        return (len(inputs) - 1) * numel(out)


@register
@dataclass(frozen=True)
class Add(_Elementwise):
    """Elementwise sum (residual merge)."""

    kind = "add"


@register
@dataclass(frozen=True)
class Mean(_Elementwise):
    """Elementwise mean (FractalNet's join)."""

    kind = "mean"

    def extra_ops(self, inputs, out):
        return len(inputs) * numel(out)


@register
@dataclass(frozen=True)
class Max(_Elementwise):
    """Elementwise maximum."""

    kind = "max"


@register
@dataclass(frozen=True)
class Mul(_Elementwise):
    """Elementwise product (gates)."""

    kind = "mul"


@register
@dataclass(frozen=True)
class Concat(Op):
    """Concatenation along channels (features for flat inputs), in input order."""

    kind = "concat"
    family = "merge"
    min_inputs = 1
    max_inputs = None

    def infer(self, inputs):
        first = inputs[0]
        for i, shape in enumerate(inputs[1:], start=1):
            if len(shape) != len(first) or shape[1:] != first[1:]:
                raise ShapeError(
                    f"concat needs inputs that differ only in channels, got {fmt(first)} (input 0) and {fmt(shape)} (input {i})"
                )
        return (sum(s[0] for s in inputs),) + first[1:]

    def extra_ops(self, inputs, out):
        return numel(out)
