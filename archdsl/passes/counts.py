"""Parameter, MAC and elementwise-op counts per node, and totals per module.

Conventions (docs/language.md, "Counting conventions"): MACs follow torchvision -- conv
Hout*Wout*Cout*(Cin/groups)*kh*kw, linear in*out; BN, activations, pooling,
adds and biases are not MACs. FLOPs = 2 * MACs (what torch's FlopCounterMode
reports). `extra_ops` counts that elementwise work separately, one op-kind
convention each, for reconciling with fvcore or ptflops.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, NodeId, qualified_parent
from ..ops import Shape, numel


@dataclass(frozen=True)
class Counts:
    params: int = 0
    macs: int = 0
    extra_ops: int = 0  # elementwise work not in macs (bn, activations, pools, adds, concats, biases)
    activations: int = 0  # output elements (without batch)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.params + other.params, self.macs + other.macs, self.extra_ops + other.extra_ops,
                      self.activations + other.activations)

    @property
    def flops(self) -> int:
        return 2 * self.macs


def count_nodes(g: Graph, shapes: dict[NodeId, Shape]) -> dict[NodeId, Counts]:
    result: dict[NodeId, Counts] = {}
    for nid in g.order:
        node = g.node(nid)
        ins = [shapes[p] for p in g.inputs(nid)]
        out = shapes[nid]
        # a node that shares another's weights (ir.Node.shared_with) costs MACs, not params
        params = 0 if node.shared_with else node.op.params(ins)
        result[nid] = Counts(params, node.op.macs(ins, out), node.op.extra_ops(ins, out), numel(out))
    return result


def totals_by_module(g: Graph, per_node: dict[NodeId, Counts]) -> dict[str, Counts]:
    """Sum of node counts for every module (its qualified name is a prefix of the node's)."""
    sums: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in g.modules}
    for nid, c in per_node.items():
        parent = qualified_parent(g.node(nid).name)
        while True:
            acc = sums.get(parent)
            if acc is not None:
                acc[0] += c.params
                acc[1] += c.macs
                acc[2] += c.extra_ops
                acc[3] += c.activations
            if not parent:
                break
            parent = qualified_parent(parent)
    return {name: Counts(*acc) for name, acc in sums.items()}
