"""The state_dict layout the IR implies: [(qualified tensor name, shape)].

Names are node names plus the op's tensor suffixes (`layer1.0.conv1.weight`).
The order is torch's: a module's tensors, then its children's, children in
order of first appearance -- the order the torch backend registers them, and
torchvision's for the specs that mirror it.
"""
from __future__ import annotations

import networkx as nx

from .. import ir
from ..ops import Shape


def state_layout(g: nx.DiGraph, shapes: dict[ir.NodeId, Shape]) -> list[tuple[str, Shape]]:
    children: dict[str, list[str]] = {}
    own: dict[str, list[tuple[str, Shape]]] = {}
    seen: set[str] = set()

    def attach(name: str):
        # register `name` and its ancestors in order of first appearance
        while name and name not in seen:
            seen.add(name)
            parent = ir.parent_name(name)
            children.setdefault(parent, []).append(name)
            name = parent

    for nid in ir.topo_order(g):
        node = ir.node(g, nid)
        if node.shared_with:  # its tensors are the owner's, listed once under the owner's name
            continue
        entries = node.op.state([shapes[p] for p in ir.inputs(g, nid)])
        if not entries:
            continue
        attach(node.name)
        own[node.name] = [(f"{node.name}.{suffix}", shape) for suffix, shape in entries]

    layout: list[tuple[str, Shape]] = []

    def walk(name: str):
        layout.extend(own.get(name, ()))
        for child in children.get(name, ()):
            walk(child)

    walk("")
    return layout
