"""Shape inference over the whole graph.

    infer_shapes(g) -> {node id: shape}

The elaborator already applies each op's shape rule as it builds a node (so
its errors point at spec text); this pass recomputes every shape from the IR
alone, for checks and for graphs changed by transforms.
"""
from __future__ import annotations

from ..errors import ArchError
from ..ir import Graph, NodeId
from ..ops import Shape, ShapeError


def infer_shapes(g: Graph) -> dict[NodeId, Shape]:
    shapes: dict[NodeId, Shape] = {}
    for nid in g.order:
        node = g.node(nid)
        try:
            shapes[nid] = node.op.infer([shapes[p] for p in g.inputs(nid)])
        except ShapeError as err:
            raise ArchError(f"{err} (in {node.name})", node.span) from None
    return shapes
