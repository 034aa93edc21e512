"""The graph IR: one small wrapper that owns the graph and all its bookkeeping.

Nodes are kept in creation order, which is a topological order (`verify`
checks it); each node's inputs are an ordered tuple (a join may take one
tensor twice), so passes read like graph theory:

    for nid in g.order: print(g.node(nid).name, g.inputs(nid))
    input ()
    conv1 (0,)
    ...

`g.nx` is the same graph as a networkx MultiDiGraph (edge key = input
position), built on demand, for users and for graph algorithms.
"""
from __future__ import annotations

from dataclasses import replace as _replace
from typing import TYPE_CHECKING

from ..errors import Span
from ..ops import Merge
from .records import Join, Module, Node, NodeId, ResidualUnit, Role, qualified_parent

if TYPE_CHECKING:  # networkx is imported on first use of Graph.nx: the analysis path never needs it
    import networkx as nx


class Graph:
    def __init__(self, name: str):
        self.name = name
        self._nodes: dict[NodeId, Node] = {}
        self._inputs: dict[NodeId, tuple[NodeId, ...]] = {}
        self._consumers: dict[NodeId, list[NodeId]] = {}
        self.modules: dict[str, Module] = {"": Module("", "network", Span(name, 0, 0))}
        self.input: NodeId | None = None  # the first input
        self.more_inputs: dict[str, NodeId] = {}  # `input a: ..., b: ...`: the inputs after the first, by name
        self.output: NodeId | None = None  # the (first) output
        self.outputs: dict[str, NodeId] | None = None  # `output a, b`: the named outputs, in order
        self.outputs_as_tuple = False  # `output (a, b)`: forward returns a tuple
        self.joins: dict[NodeId, Join] = {}  # roles of join inputs, recorded by the structure that made them
        self.units: list[ResidualUnit] = []  # residual-like units, in network order
        self._nx: "nx.MultiDiGraph | None" = None

    # ------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, nid) -> bool:
        return nid in self._nodes

    def __iter__(self):
        return iter(self._nodes)

    @property
    def order(self) -> list[NodeId]:
        """Node ids in topological (creation) order."""
        return list(self._nodes)

    def node(self, nid: NodeId) -> Node:
        return self._nodes[nid]

    def nodes(self):
        """The Node payloads in topological order."""
        return self._nodes.values()

    def inputs(self, nid: NodeId) -> tuple[NodeId, ...]:
        return self._inputs[nid]

    def consumers(self, nid: NodeId) -> list[NodeId]:
        """The nodes that take `nid` as an input, in order, once each."""
        return self._consumers[nid]

    def roles(self, nid: NodeId) -> tuple[Role, ...]:
        """What each input of `nid` is: recorded by its structure, else what its op's merge implies."""
        join = self.joins.get(nid)
        if join is not None:
            return join.roles
        n = len(self._inputs[nid])
        if self._nodes[nid].op.traits.merge is Merge.GATE:
            return (Role.DATA,) + (Role.GATE,) * (n - 1)
        return (Role.BODY,) * n

    def by_name(self) -> dict[str, NodeId]:
        return {node.name: nid for nid, node in self._nodes.items()}

    def parent(self, nid: NodeId) -> str:
        """The qualified name of the module a node belongs to."""
        return qualified_parent(self._nodes[nid].name)

    # ------------------------------------------------------------ building and rewriting

    def add(self, node: Node, inputs) -> NodeId:
        nid = node.id
        if nid in self._nodes:
            raise ValueError(f"node id {nid} is already in the graph")
        self._nodes[nid] = node
        self._inputs[nid] = tuple(inputs)
        self._consumers[nid] = []
        for src in (inputs if len(inputs) < 2 else dict.fromkeys(inputs)):
            self._consumers[src].append(nid)
        self._nx = None
        return nid

    def replace(self, nid: NodeId, node: Node) -> None:
        """Swap the payload of `nid` (same inputs)."""
        self._nodes[nid] = node
        self._nx = None

    def set_inputs(self, nid: NodeId, inputs) -> None:
        for src in dict.fromkeys(self._inputs[nid]):
            self._consumers[src].remove(nid)
        self._inputs[nid] = tuple(inputs)
        for src in dict.fromkeys(inputs):
            self._consumers[src].append(nid)
            self._consumers[src].sort(key=self._position)
        self._nx = None

    def rewire(self, old: NodeId, new: NodeId) -> None:
        """Every consumer of `old` (and the graph output, and the units that start from it) takes `new` instead."""
        for user in list(self._consumers[old]):
            self.set_inputs(user, [new if i == old else i for i in self._inputs[user]])
        if self.output == old:
            self.output = new
        if self.outputs:
            self.outputs = {k: new if v == old else v for k, v in self.outputs.items()}
        self.units = [_replace(u, fork=new if u.fork == old else u.fork, skip=new if u.skip == old else u.skip)
                      for u in self.units]

    def remove(self, nids) -> None:
        """Delete nodes (their consumers must be gone or rewired first) and the records that name them."""
        gone = set(nids)
        for nid in gone:
            for src in dict.fromkeys(self._inputs[nid]):
                if src not in gone:
                    self._consumers[src].remove(nid)
        for nid in gone:
            del self._nodes[nid], self._inputs[nid], self._consumers[nid]
        self.joins = {n: j for n, j in self.joins.items() if n not in gone}
        self.units = [u for u in self.units if not gone.intersection(u.nodes)]
        self._nx = None

    def copy(self) -> "Graph":
        new = Graph(self.name)
        new._nodes = dict(self._nodes)
        new._inputs = dict(self._inputs)
        new._consumers = {nid: list(users) for nid, users in self._consumers.items()}
        new.modules = dict(self.modules)
        new.input, new.output = self.input, self.output
        new.outputs, new.outputs_as_tuple = (dict(self.outputs) if self.outputs else None), self.outputs_as_tuple
        new.more_inputs = dict(self.more_inputs)
        new.joins, new.units = dict(self.joins), list(self.units)
        return new

    def unused(self) -> list[NodeId]:
        """The nodes no other node takes as input (the outputs, and any dead end)."""
        return [nid for nid, users in self._consumers.items() if not users]

    def input_nodes(self) -> dict[str, NodeId]:
        """The inputs by name, the first first."""
        return {self._nodes[self.input].name: self.input, **self.more_inputs}

    def output_nodes(self) -> dict[str, NodeId]:
        """The outputs by name: the declared ones, else {"output": the last tensor}."""
        return dict(self.outputs) if self.outputs else {"output": self.output}

    def _position(self, nid: NodeId) -> int:
        return nid  # ids are handed out in creation order

    # ------------------------------------------------------------ networkx and reachability

    @property
    def nx(self) -> "nx.MultiDiGraph":
        """The graph as networkx: node attribute `node` (the Node), one edge per input with key = position."""
        if self._nx is None:
            import networkx

            g = networkx.MultiDiGraph(name=self.name)
            for nid, node in self._nodes.items():
                g.add_node(nid, node=node)
            for nid, ins in self._inputs.items():
                for index, src in enumerate(ins):
                    g.add_edge(src, nid, key=index, index=index)
            self._nx = g
        return self._nx

    def ancestors(self, nid: NodeId, within: set | None = None) -> set[NodeId]:
        """`nid` and every node it depends on (only inside `within`, when given)."""
        found, stack = set(), [nid]
        while stack:
            n = stack.pop()
            if n in found or (within is not None and n not in within):
                continue
            found.add(n)
            stack.extend(self._inputs[n])
        return found

    def descendants(self, nid: NodeId) -> set[NodeId]:
        """Every node that depends on `nid` (not `nid` itself)."""
        found, stack = set(), list(self._consumers[nid])
        while stack:
            n = stack.pop()
            if n not in found:
                found.add(n)
                stack.extend(self._consumers[n])
        return found


def with_payload(node: Node, **changes) -> Node:
    return _replace(node, **changes)
