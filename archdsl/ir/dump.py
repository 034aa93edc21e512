"""The IR as text, for golden tests and debugging (`archdsl check --dump`).

    graph three_blocks: input %0, output %23
      %0   input                    = input 3x32x32
      %1   conv1                    = conv 3x3, 16 (%0)
      ...
      %8   block1.add               = add (%7 body, %3 skip)
    units:
      residual block1.add: fork %3, body %4..%7, identity shortcut, tail %9
    modules:
      block1                        block unit(c=16)
"""
from __future__ import annotations

from .graph import Graph
from .records import BlockInfo, Role


def dump(g: Graph, shapes: dict | None = None) -> str:
    lines = [f"graph {g.name}: input %{g.input}, output %{g.output}"]
    width = max((len(node.name) for node in g.nodes()), default=0)
    for nid in g.order:
        node = g.node(nid)
        args = []
        for src, role in zip(g.inputs(nid), g.roles(nid)):
            shown = f"%{src}"
            if len(g.inputs(nid)) > 1 or nid in g.joins:
                shown += f" {role.value}"
            args.append(shown)
        text = f"  %{nid:<4} {node.name:<{width}} = {node.op.describe()}"
        if args:
            text += f" ({', '.join(args)})"
        if shapes is not None:
            text += f"  # {'x'.join(map(str, shapes[nid])) or 'scalar'}"
        if node.shared_with:
            text += f"  [shares {node.shared_with}]"
        lines.append(text)
    if g.units:
        lines.append("units:")
        for u in g.units:
            shortcut = f"shortcut {_ids(u.shortcut)}" if u.shortcut else "identity shortcut"
            tail = f", tail {_ids(u.tail)}" if u.tail else ""
            lines.append(f"  {u.kind} {g.node(u.join).name}: fork %{u.fork}, body {_ids(u.body)}, {shortcut}{tail}")
    lines.append("modules:")
    for name, module in g.modules.items():
        if not name:
            continue
        info = module.info
        extra = ""
        if isinstance(info, BlockInfo):
            extra = f" {info.template}({', '.join(f'{k}={v!r}' for k, v in info.args)})"
        elif info is not None:
            extra = f" {info}"
        lines.append(f"  {name:<{width}} {module.kind}{extra}")
    return "\n".join(lines) + "\n"


def _ids(nids) -> str:
    nids = list(nids)
    if nids and nids == list(range(nids[0], nids[0] + len(nids))) and len(nids) > 2:
        return f"%{nids[0]}..%{nids[-1]}"
    return ", ".join(f"%{n}" for n in nids)


__all__ = ["dump", "Role"]
