"""Multi-input ops: the joins of residual, parallel, dense and gate structures.

Inputs are ordered (the IR keeps each node's inputs in order): for `concat`
the order is the channel order of the result; for `mul`, input 0 carries the
data and the others gate it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import Merge, Op, ShapeError, Traits, fmt, numel, register


def _same_shapes(kind: str, inputs):
    first = inputs[0]
    for i, shape in enumerate(inputs[1:], start=1):
        if shape != first:
            raise ShapeError(f"{kind} needs inputs of one shape, got {fmt(first)} (input 0) and {fmt(shape)} (input {i})")
    return first


def _broadcast(kind: str, inputs):
    """Input 0's shape; each other input equals it or broadcasts to it (a Cx1x1 or 1x1x1 gate over CxHxW)."""
    first = inputs[0]
    for i, shape in enumerate(inputs[1:], start=1):
        if shape != first and (len(shape) != len(first) or any(d not in (1, f) for d, f in zip(shape, first))):
            raise ShapeError(f"{kind} needs inputs of input 0's shape or broadcasting to it (Cx1x1, 1x1x1), "
                             f"got {fmt(first)} (input 0) and {fmt(shape)} (input {i})")
    return first


@dataclass(frozen=True)
class _Elementwise(Op):
    family = "merge"
    TRAITS = Traits(merge=Merge.SUM, fresh_output=True)
    min_inputs = 2
    max_inputs = None
    ELEMENTWISE_DOC = "(n-1) per output element"

    def infer(self, inputs):
        return _same_shapes(self.kind, inputs)

    def extra_ops(self, inputs, out):
        return (len(inputs) - 1) * numel(out)


@register
@dataclass(frozen=True)
class Add(_Elementwise):
    """Elementwise sum (a residual join); inputs after the first may broadcast (Cx1x1).

    Made by residual, multi_residual, poly and `parallel(merge=add)`.
    """

    kind = "add"
    TRAITS = Traits(merge=Merge.SUM, fresh_output=True, inplace=True)
    EXAMPLE = "residual(after=none) { conv(4, 3, padding=1) }"

    def infer(self, inputs):
        return _broadcast(self.kind, inputs)


@register
@dataclass(frozen=True)
class Mean(_Elementwise):
    """Elementwise mean. Made by `parallel(merge=mean)`."""

    kind = "mean"
    EXAMPLE = "parallel(merge=mean) { conv(4, 1) conv(4, 3, padding=1) }"
    ELEMENTWISE_DOC = "n per output element (n-1 adds and a scale)"

    def extra_ops(self, inputs, out):
        return len(inputs) * numel(out)


@register
@dataclass(frozen=True)
class Max(_Elementwise):
    """Elementwise maximum. Made by `parallel(merge=max)`."""

    kind = "max"
    EXAMPLE = "parallel(merge=max) { conv(4, 1) conv(4, 3, padding=1) }"


@register
@dataclass(frozen=True)
class Mul(_Elementwise):
    """Elementwise product: input 0 gated by the others, which may broadcast (SE's Cx1x1 gate).

    Made by `parallel(merge=mul)` and gated residuals.
    """

    kind = "mul"
    TRAITS = Traits(merge=Merge.GATE, fresh_output=True)
    EXAMPLE = "parallel(merge=mul) { identity { gap conv(4, 1) sigmoid } }"

    def infer(self, inputs):
        return _broadcast(self.kind, inputs)


@register
@dataclass(frozen=True)
class Concat(Op):
    """Concatenation along channels (features for flat inputs), in input order. Made by parallel and dense."""

    kind = "concat"
    family = "merge"
    TRAITS = Traits(merge=Merge.SUM, fresh_output=True)
    min_inputs = 1
    max_inputs = None
    EXAMPLE = "parallel { conv(3, 1) conv(2, 3, padding=1) }"
    ELEMENTWISE_DOC = "1 per output element (a copy)"

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
