"""`multi_residual(...) { F1 F2 ... }`: x + F1(x) + F2(x) + ... in one add (Multi-ResNet, PolyNet's 2-way).

Each item is a branch from x, like `parallel`; the arguments are residual's
(shortcut, after, scale, shortcut_scale, shortcut_dropout, survival, decay).
"""
from __future__ import annotations

from ...errors import ArchError
from .base import Structure, structure
from .residual import ResidualArgs, sum_paths


@structure
class MultiResidual(Structure):
    keyword = "multi_residual"
    Config = ResidualArgs
    takes_shortcut = True

    def build(self, e, call, cur: int) -> int:
        start = len(e.shapes)
        branches = e.branches(call.unit.body, cur, call.scope, call.names, "multi_residual")
        if not branches:
            raise ArchError("multi_residual needs at least one branch", call.span)
        return sum_paths(e, call, cur, branches, start, "multi_residual")
