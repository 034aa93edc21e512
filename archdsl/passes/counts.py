"""Parameter, MAC and elementwise-op counts per node, and totals per module.

Conventions (docs/language.md, "Counting conventions"): MACs follow torchvision -- conv
Hout*Wout*Cout*(Cin/groups)*kh*kw, linear in*out; BN, activations, pooling,
adds and biases are not MACs. FLOPs = 2 * MACs (what torch's FlopCounterMode
reports). `extra_ops` counts that elementwise work separately, one op-kind
convention each, for reconciling with fvcore or ptflops.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .. import ir
from ..ops import Shape


@dataclass(frozen=True)
class Counts:
    params: int = 0
    macs: int = 0
    extra_ops: int = 0  # elementwise work not in macs (bn, activations, pools, adds, concats, biases)
    activations: int = 0  # output elements (without batch)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            self.params + other.params,
            self.macs + other.macs,
            self.extra_ops + other.extra_ops,
            self.activations + other.activations,
        )

    @property
    def flops(self) -> int:
        return 2 * self.macs


def count_nodes(g: nx.DiGraph, shapes: dict[ir.NodeId, Shape]) -> dict[ir.NodeId, Counts]:
    result: dict[ir.NodeId, Counts] = {}
    for nid in ir.topo_order(g):
        op = ir.node(g, nid).op
        ins = [shapes[p] for p in ir.inputs(g, nid)]
        out = shapes[nid]
        size = 1
        for d in out:
            size *= d
        # a node that shares another's weights (ir.Node.shared_with) costs MACs, not params
        params = 0 if ir.node(g, nid).shared_with else op.params(ins)
        result[nid] = Counts(params, op.macs(ins, out), op.extra_ops(ins, out), size)
    return result


def totals_by_module(g: nx.DiGraph, per_node: dict[ir.NodeId, Counts]) -> dict[str, Counts]:
    """Sum of node counts for every module (its qualified name is a prefix of the node's)."""
    totals: dict[str, Counts] = {name: Counts() for name in ir.modules(g)}
    for nid, counts in per_node.items():
        name = ir.node(g, nid).name
        parent = ir.parent_name(name)
        while True:
            if parent in totals:
                totals[parent] = totals[parent] + counts
            if not parent:
                break
            parent = ir.parent_name(parent)
    return totals
