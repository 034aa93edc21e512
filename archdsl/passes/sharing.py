"""Weight sharing: how many nodes reuse another's tensors, and the parameters not counted again."""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, NodeId
from ..ops import Shape


@dataclass(frozen=True)
class SharingSummary:
    shared_nodes: int
    owners: int
    params_not_repeated: int


def sharing_summary(g: Graph, shapes: dict[NodeId, Shape]) -> SharingSummary | None:
    """None when no node shares weights."""
    nodes, owners, saved = 0, set(), 0
    for nid in g.order:
        node = g.node(nid)
        if node.shared_with:
            nodes += 1
            owners.add(node.shared_with)
            saved += node.op.params([shapes[p] for p in g.inputs(nid)])
    return SharingSummary(nodes, len(owners), saved) if nodes else None
