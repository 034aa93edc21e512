"""`dense { L1 L2 ... }`: each item sees the concatenation of the input and all earlier outputs.

    dense { dense_layer(32) x 6 }      a DenseNet block with growth rate 32

The result is the concatenation of the input and every item's output. In
each concat the block input is a skip (DenseNet's direct connection) and
each layer's output closes that layer's body.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ArchError
from ...ir import Role
from .base import empty_branch, Structure, record_join, structure


@structure
class Dense(Structure):
    keyword = "dense"

    @dataclass(frozen=True)
    class Config:
        pass

    def build(self, e, call, cur: int) -> int:
        features = [cur]
        for step in e.applications(call.unit.body, call.scope, call.names):
            x = features[0] if len(features) == 1 else self.concat(e, call, features, step.span)
            out = e.unit(step, x)
            if out == x:
                raise empty_branch("dense", step.span)
            features.append(out)
        if len(features) == 1:
            raise ArchError("dense needs at least one layer", call.span)
        return self.concat(e, call, features, call.span)

    def concat(self, e, call, features, span) -> int:
        nid = e.op("concat", call.names, "concat", span, list(features))
        return record_join(e, nid, (Role.SKIP,) + (Role.BODY,) * (len(features) - 1))
