"""`poly(...) { F G }`: x + F(x) + G(F(x)), PolyNet's mpoly-2; `poly { F x 2 shared }`: poly-2.

The items are chained and every item's output is added, with x's shortcut,
in one add; the arguments are residual's.
"""
from __future__ import annotations

from ...errors import ArchError
from .base import empty_branch, Structure, structure
from .residual import ResidualArgs, sum_paths


@structure
class Poly(Structure):
    keyword = "poly"
    Config = ResidualArgs
    takes_shortcut = True

    def build(self, e, call, cur: int) -> int:
        start = len(e.shapes)
        taps, y = [], cur
        for step in e.applications(call.unit.body, call.scope, call.names):
            before, y = y, e.unit(step, y)
            if y == before:
                raise empty_branch("poly", step.span)
            taps.append(y)
        if not taps:
            raise ArchError("poly needs at least one item", call.span)
        return sum_paths(e, call, cur, taps, start, "poly")
