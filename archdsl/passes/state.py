"""The state_dict layout the IR implies: [(qualified tensor name, shape)].

Names are node names plus the op's tensor suffixes (`layer1.0.conv1.weight`).
The order is torch's: a module's tensors, then its children's, children in
order of first appearance -- the order the torch backend registers them, and
torchvision's for the specs that mirror it.
"""
from __future__ import annotations

from ..ir import Graph, NodeId, qualified_parent
from ..ops import Shape, state_key


def state_layout(g: Graph, shapes: dict[NodeId, Shape]) -> list[tuple[str, Shape]]:
    children: dict[str, list[str]] = {}
    own: dict[str, list[tuple[str, Shape]]] = {}
    seen: set[str] = set()

    def attach(name: str):
        # register `name` and its ancestors in order of first appearance
        while name and name not in seen:
            seen.add(name)
            parent = qualified_parent(name)
            children.setdefault(parent, []).append(name)
            name = parent

    for nid in g.order:
        node = g.node(nid)
        if node.shared_with:  # its tensors are the owner's, listed once under the owner's name
            continue
        entries = node.op.state([shapes[p] for p in g.inputs(nid)])
        if not entries:
            continue
        for suffix, shape in entries:
            holder = node.name if suffix else qualified_parent(node.name)  # "": the container's own parameter
            attach(holder)
            own.setdefault(holder, []).append((state_key(node.name, suffix), shape))

    layout: list[tuple[str, Shape]] = []
    stack = [""]
    while stack:  # depth-first, children in order (iterative: nesting may be deep)
        name = stack.pop()
        layout.extend(own.get(name, ()))
        stack.extend(reversed(children.get(name, ())))
    return layout
