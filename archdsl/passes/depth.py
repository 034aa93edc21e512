"""Depth: weight layers (conv, linear) on the longest input-to-output path.

    input -> conv -> bn -> relu -> [conv -> conv] + shortcut -> linear   => 4
"""
from __future__ import annotations

from ..ir import Graph, NodeId


def longest_paths(g: Graph) -> dict[NodeId, int]:
    """Weight layers on the longest path from the input to each node."""
    longest: dict[NodeId, int] = {}
    for nid in g.order:
        here = 1 if g.node(nid).op.weight_layer else 0
        longest[nid] = here + max((longest[p] for p in g.inputs(nid)), default=0)
    return longest


def depth(g: Graph) -> int:
    return longest_paths(g)[g.output]
