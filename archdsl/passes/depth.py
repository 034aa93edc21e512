"""Depth: weight layers (conv, linear) on the longest input-to-output path.

    input -> conv -> bn -> relu -> [conv -> conv] + shortcut -> linear   => 4
"""
from __future__ import annotations

import networkx as nx

from .. import ir


def depth(g: nx.DiGraph) -> int:
    longest: dict[ir.NodeId, int] = {}
    for nid in ir.topo_order(g):
        preds = ir.inputs(g, nid)
        here = 1 if ir.node(g, nid).op.weight_layer else 0
        longest[nid] = here + max((longest[p] for p in preds), default=0)
    return longest[g.graph["output"]]
