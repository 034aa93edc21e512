"""`verify(g)`: the IR's invariants, checked after every load and every transform (like torch.fx's lint).

A failure is an `IRError`: a bug in archdsl, never in a spec (a spec's mistakes
are `ArchError`s found while the graph is built).
"""
from __future__ import annotations

from ..ops import REGISTRY
from .graph import Graph
from .records import Node, Role, qualified_parent


class IRError(AssertionError):
    """An invariant of the IR is broken: a bug in archdsl, never in a spec."""


def verify(g: Graph) -> None:
    names = _verify_nodes(g)
    _verify_sharing(g, names)
    _verify_records(g)
    for name in g.modules:
        if name and qualified_parent(name) not in g.modules:
            raise IRError(f"module {name!r}: parent module missing")
    if g.input not in g or g.output not in g:
        raise IRError("graph input/output not set")
    if not set(g.more_inputs.values()) <= set(g) or any(not g.node(n).op.traits.source for n in g.more_inputs.values()):
        raise IRError(f"graph inputs {g.more_inputs} are not input nodes of the graph")
    outputs = set(g.output_nodes().values())
    if not outputs <= set(g) or (g.outputs and g.output != next(iter(g.outputs.values()))):
        raise IRError(f"graph outputs {g.outputs} are not nodes of the graph, or output is not the first")
    dead = [nid for nid in g.unused() if nid not in outputs]
    if dead:
        raise IRError(f"nodes {dead[:5]} lead to no output")


def _verify_nodes(g: Graph) -> dict[str, int]:
    names: dict[str, int] = {}
    expected: dict[int, list[int]] = {}  # consumers as the inputs imply them
    modules = g.modules
    inputs_of = g._inputs  # read directly: this walk is a tenth of a 100,000-node load
    kinds_checked: set[type] = set()
    arity_checked: set[tuple[type, int]] = set()
    for nid, data in g._nodes.items():
        if type(data) is not Node or data.id != nid:
            raise IRError(f"node {nid} has no Node payload or a wrong id")
        op = data.op
        preds = inputs_of[nid]
        arity = (type(op), len(preds))
        if arity not in arity_checked:
            if type(op) not in kinds_checked:
                if REGISTRY.get(op.kind) is not type(op):
                    raise IRError(f"node {data.name}: op kind {op.kind!r} is not registered")
                kinds_checked.add(type(op))
            if len(preds) < op.min_inputs or (op.max_inputs is not None and len(preds) > op.max_inputs):
                raise IRError(f"node {data.name}: {op.kind} has {len(preds)} inputs")
            arity_checked.add(arity)
        for p in (preds if len(preds) < 2 else dict.fromkeys(preds)):
            users = expected.get(p)
            if users is None:
                raise IRError(f"node {data.name}: creation order is not topological")
            users.append(nid)
        expected[nid] = []
        name = data.name
        if name in names:
            raise IRError(f"duplicate qualified name {name!r}")
        names[name] = nid
        if name and name in modules:
            raise IRError(f"{name!r} is both a node and a module")
        if name.rpartition(".")[0] not in modules:
            raise IRError(f"node {name}: parent module {qualified_parent(name)!r} missing")
    if expected != g._consumers:
        for nid, users in expected.items():
            if g.consumers(nid) != users:
                raise IRError(f"node {g.node(nid).name}: its consumers are recorded as {g.consumers(nid)}, its "
                              f"consumers' inputs say {users}")
        raise IRError("the consumer lists name nodes that are not in the graph")
    return names


def _verify_sharing(g: Graph, names: dict[str, int]) -> None:
    for nid in g.order:
        data = g.node(nid)
        if data.shared_with is None:
            continue
        owner = names.get(data.shared_with)
        if owner is None:
            raise IRError(f"node {data.name}: shares the weights of {data.shared_with!r}, which does not exist")
        owner_node = g.node(owner)
        if owner_node.shared_with is not None:
            raise IRError(f"node {data.name}: its owner {owner_node.name!r} is itself shared (chains are not allowed)")
        if owner_node.op != data.op:
            raise IRError(f"node {data.name}: shares weights with {owner_node.name!r} but has a different op")
        if owner >= nid:
            raise IRError(f"node {data.name}: its owner {owner_node.name!r} comes after it")


def _verify_records(g: Graph) -> None:
    for nid, join in g.joins.items():
        if nid not in g or join.node != nid:
            raise IRError(f"join record {nid} names no node of the graph")
        if len(join.roles) != len(g.inputs(nid)):
            raise IRError(f"join {g.node(nid).name}: {len(join.roles)} roles for {len(g.inputs(nid))} inputs")
    for unit in g.units:
        missing = [n for n in unit.nodes + (unit.fork, unit.skip) if n not in g]
        if missing:
            raise IRError(f"residual unit at node {unit.join}: nodes {missing} are not in the graph")
        roles = dict(zip(g.inputs(unit.join), g.roles(unit.join)))
        if roles.get(unit.skip) is not Role.SKIP:
            raise IRError(f"residual unit {g.node(unit.join).name}: its shortcut is not a skip input of its join")
