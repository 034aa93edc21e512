"""The graph IR: a networkx DiGraph of op nodes. All networkx use goes through here.

Node keys are ints in creation order, which is a topological order. Each key
maps to `data["node"]`, a frozen `Node`. An edge carries `index`, the input
position of its source in a multi-input op (add, concat). Graph attributes:

    modules  {qualified name: Module}  the hierarchy (network/stage/block/...)
    input    the input node's key
    output   the output node's key

    >>> for nid in topo_order(g): print(node(g, nid).name, inputs(g, nid))
    input []
    conv1 [0]
    ...
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .errors import Span
from .ops import REGISTRY, Op

NodeId = int


@dataclass(frozen=True)
class Node:
    id: NodeId
    name: str  # qualified, e.g. "layer3.12.conv2"; state_dict prefix for weights
    op: Op
    span: Span
    # weight sharing: the qualified name of the node whose tensors this one reuses
    # (same op, same input shapes); params are counted and listed at the owner only
    shared_with: str | None = None

    @property
    def kind(self) -> str:
        return self.op.kind


@dataclass(frozen=True)
class Module:
    """A level of the hierarchy: the network, a stage, a block, a named group."""

    name: str  # qualified; "" for the network itself
    kind: str  # network | stage | block | sequence | repeat | residual | parallel | dense | shortcut
    template: str | None  # the block template for kind == "block" (e.g. "bottleneck")
    span: Span
    annotations: dict = field(default_factory=dict, compare=False)  # extra facts from the elaborator


def new_graph(name: str) -> nx.DiGraph:
    g = nx.DiGraph(name=name)
    g.graph["modules"] = {"": Module("", "network", None, Span(name, 0, 0))}
    return g


def add_node(g: nx.DiGraph, node: Node, input_ids: list[NodeId]) -> NodeId:
    g.add_node(node.id, node=node)
    for index, src in enumerate(input_ids):
        g.add_edge(src, node.id, index=index)
    return node.id


def node(g: nx.DiGraph, nid: NodeId) -> Node:
    return g.nodes[nid]["node"]


def inputs(g: nx.DiGraph, nid: NodeId) -> list[NodeId]:
    """Predecessors of `nid` in input order."""
    preds = g.pred[nid]
    if len(preds) <= 1:
        return list(preds)
    return sorted(preds, key=lambda p: preds[p]["index"])


def consumers(g: nx.DiGraph, nid: NodeId) -> list[NodeId]:
    return list(g.succ[nid])


def topo_order(g: nx.DiGraph) -> list[NodeId]:
    """Creation order, which `verify` checks is topological."""
    return list(g.nodes)


def modules(g: nx.DiGraph) -> dict[str, Module]:
    return g.graph["modules"]


def parent_name(qualified: str) -> str:
    return qualified.rpartition(".")[0]


class IRError(AssertionError):
    """An invariant of the IR is broken: a bug in archdsl, never in a spec."""


def verify(g: nx.DiGraph) -> None:
    """Check the IR's invariants (like torch.fx's Graph.lint); raises IRError."""
    seen: set[NodeId] = set()
    names: dict[str, NodeId] = {}
    mods = modules(g)
    for nid in g.nodes:
        data = g.nodes[nid].get("node")
        if not isinstance(data, Node) or data.id != nid:
            raise IRError(f"node {nid} has no Node payload or a wrong id")
        op = data.op
        if REGISTRY.get(op.kind) is not type(op):
            raise IRError(f"node {data.name}: op kind {op.kind!r} is not registered")
        preds = inputs(g, nid)
        if not all(p in seen for p in preds):
            raise IRError(f"node {data.name}: creation order is not topological")
        indices = sorted(g.edges[p, nid]["index"] for p in preds)
        if indices != list(range(len(preds))):
            raise IRError(f"node {data.name}: input indices {indices} are not 0..{len(preds) - 1}")
        if len(preds) < op.min_inputs or (op.max_inputs is not None and len(preds) > op.max_inputs):
            raise IRError(f"node {data.name}: {op.kind} has {len(preds)} inputs")
        if data.name in names:
            raise IRError(f"duplicate qualified name {data.name!r}")
        if data.name in mods and data.name:
            raise IRError(f"{data.name!r} is both a node and a module")
        if parent_name(data.name) not in mods:
            raise IRError(f"node {data.name}: parent module {parent_name(data.name)!r} missing")
        names[data.name] = nid
        seen.add(nid)
    for nid in g.nodes:
        data = g.nodes[nid]["node"]
        if data.shared_with is None:
            continue
        owner = names.get(data.shared_with)
        if owner is None:
            raise IRError(f"node {data.name}: shares the weights of {data.shared_with!r}, which does not exist")
        owner_node = g.nodes[owner]["node"]
        if owner_node.shared_with is not None:
            raise IRError(f"node {data.name}: its owner {owner_node.name!r} is itself shared (chains are not allowed)")
        if owner_node.op != data.op:
            raise IRError(f"node {data.name}: shares weights with {owner_node.name!r} but has a different op")
        if owner >= nid:
            raise IRError(f"node {data.name}: its owner {owner_node.name!r} comes after it")
    for name in mods:
        if name and parent_name(name) not in mods:
            raise IRError(f"module {name!r}: parent module missing")
    if g.graph.get("input") not in g.nodes or g.graph.get("output") not in g.nodes:
        raise IRError("graph input/output not set")
    if not nx.is_directed_acyclic_graph(g):  # pragma: no cover - implied by the order check
        raise IRError("graph has a cycle")
