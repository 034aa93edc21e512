"""`stage(stride=2) { ... }`: a container whose first block call takes the stride.

The first block called inside (at any depth) receives `stride` (the block
needs a `stride` argument); the others keep their default. `info` sums per stage.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ArchError
from .base import Pending, Structure, anything, arg, structure


@structure
class Stage(Structure):
    keyword = "stage"
    container = "always"

    @dataclass(frozen=True)
    class Config:
        stride: object = arg(None, anything, "passed to the first block called inside")

    def build(self, e, call, cur: int) -> int:
        saved = e.pending_stride
        e.pending_stride = Pending(call.config.stride, call.span_of("stride")) if "stride" in call.spans else None
        try:
            out = e.sequence(call.unit.body, cur, call.scope, call.names)
            if e.pending_stride is not None and not e.pending_stride.used:
                raise ArchError("this stage's stride was not taken: no block is called inside it", e.pending_stride.span)
        finally:
            e.pending_stride = saved
        return out
