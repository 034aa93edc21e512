"""Weight sharing, `U x n shared`: copies 1..n-1 reuse copy 0's tensors (ir.Node.shared_with).

The copies must be the same layers on the same shapes; each copy is built as
usual, then checked against copy 0 and marked as sharing its owner's tensors.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ArchError
from ..ops import fmt


def shared_copy(e, copy, step, cur: int) -> int:
    start = len(e.shapes)
    out = e.unit(step._replace(unit=copy.unit), cur)
    created = list(range(start, len(e.shapes)))
    group = copy.group
    if copy.index == 0:
        group.nodes = created
        return out
    if len(created) != len(group.nodes):
        raise ArchError(f"copy {copy.index} of a shared repetition has {len(created)} layers, copy 0 has "
                        f"{len(group.nodes)}", copy.span)
    g = e.g
    for owner_id, nid in zip(group.nodes, created):
        owner, node = g.node(owner_id), g.node(nid)
        own_in, ins = _input_shapes(e, owner_id), _input_shapes(e, nid)
        if owner.op != node.op or own_in != ins:
            raise ArchError(
                f"copy {copy.index} of a shared repetition differs from copy 0 at {node.name}: "
                f"{node.op.describe()} on {_shapes(ins)}, but {owner.name} is {owner.op.describe()} on {_shapes(own_in)}",
                copy.span,
                note="shared copies must be the same layers on the same shapes "
                     "(a stage's stride goes to the first copy only)",
            )
        if node.op.state(ins):
            g.replace(nid, replace(node, shared_with=owner.shared_with or owner.name))
    return out


def _input_shapes(e, nid: int):
    return [e.shapes[p] for p in e.g.inputs(nid)]


def _shapes(shapes) -> str:
    return ", ".join(fmt(s) for s in shapes) or "no input"
