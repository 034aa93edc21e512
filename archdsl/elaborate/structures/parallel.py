"""`parallel(merge=concat) { A B C }`: branches from one input, merged.

Each item is a branch applied to the same input (`x n` gives n branches).
`merge` is concat (channels, in branch order), add, mean, max or mul (input 0
gated by the others: `parallel(merge=mul) { identity { gap conv sigmoid } }`).
`flat=true` names the items of a branch sequence in the enclosing container,
with no level for the branch: torchvision's and timm's squeeze-and-excitation
`se.fc1` rather than `se.1.fc1`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ArchError
from .base import Structure, arg, flag, one_of, structure


@structure
class Parallel(Structure):
    keyword = "parallel"

    @dataclass(frozen=True)
    class Config:
        merge: str = arg("concat", one_of("concat", "add", "mean", "max", "mul"), "how the branches are merged")
        flat: bool = arg(False, flag, "branch sequences name their items in the enclosing container")

    def build(self, e, call, cur: int) -> int:
        merge = call.config.merge
        outs = e.branches(call.unit.body, cur, call.scope, call.names, "parallel", flat=call.config.flat)
        if not outs:
            raise ArchError("parallel needs at least one branch", call.span)
        if len(outs) == 1 and merge != "concat":
            return outs[0]
        return e.op(merge, call.names, merge, call.span, outs)
