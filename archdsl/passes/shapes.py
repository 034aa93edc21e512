"""Shape inference over the whole graph.

    infer_shapes(g) -> {node id: shape}

The elaborator already applies each op's shape rule as it builds a node (so
its errors point at spec text); this pass recomputes every shape from the IR
alone, for `verify`-style checks and for graphs changed by transforms.
"""
from __future__ import annotations

import networkx as nx

from .. import ir
from ..errors import ArchError
from ..ops import Shape, ShapeError


def infer_shapes(g: nx.DiGraph) -> dict[ir.NodeId, Shape]:
    shapes: dict[ir.NodeId, Shape] = {}
    for nid in ir.topo_order(g):
        node = ir.node(g, nid)
        try:
            shapes[nid] = node.op.infer([shapes[p] for p in ir.inputs(g, nid)])
        except ShapeError as err:
            raise ArchError(f"{err} (in {node.name})", node.span) from None
    return shapes
