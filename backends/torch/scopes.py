"""The spec's hierarchy as the structured emitter sees it: which containers are called as one unit.

    layer1            stage       -> nn.Sequential(Bottleneck(...), *[Bottleneck(...) for _ in range(2)])
    layer1.0          block call  -> Bottleneck(64, 64, downsample=True)
    layer1.0.conv1    node        -> nn.Conv2d(64, 64, 1, bias=False)

A container is a *unit* when it takes one tensor and gives one, its nodes are
contiguous in the graph's order and every module it calls is its own. A
unit's forward is a `Body`: the `Entry`s its __init__ assigns (nodes, inner
units, or plain `Group`s whose children it assigns itself) and the `Step`s
its forward takes. Everything is read from the module tree the flat emitter
builds (codegen._build_tree), so names and registration order, and hence
state_dict order, are the same in both forms.
"""
from __future__ import annotations

from dataclasses import dataclass

from archdsl.ir import Graph

from .codegen import ModuleTree, _build_tree, _check_names, _fresh, _owner
from .exprs import Expr, parse, skeleton
from .lowering import EmitContext, Emitted, emit


@dataclass(frozen=True)
class Entry:
    """One assignment of __init__: `self.<path> = <expr>`; expr None for a plain Group."""

    path: str  # relative to the class
    expr: Expr | None


@dataclass(frozen=True)
class Step:
    """One statement of forward: call the module at `callee` on the values `inputs`."""

    callee: str  # relative path of the module called
    key: str  # the value it gives ("conv1"; "conv1#2" for a second call of a shared module)
    inputs: tuple[str, ...]  # value keys; "x" is the class's input
    out: int  # the IR node whose value it gives (shape comments)
    drop_path: bool = False  # takes the network's drop-path draw
    parameter: bool = False  # multiplies by a parameter instead of calling a module


@dataclass(frozen=True)
class Body:
    path: str  # the container's qualified name ("" for the network)
    entries: tuple[Entry, ...]
    steps: tuple[Step, ...]
    exit: str  # key of the value returned
    zero: tuple[str, ...]  # relative names of the last BN of each residual branch inside, not in a unit
    needs_dp: bool
    inputs: tuple[str, ...] = ("x",)  # the network's: x, then its further inputs by name
    exits: tuple[tuple[str, str], ...] = ()  # the network's named outputs: (output name, value key)
    as_tuple: bool = False  # the named outputs returned as a tuple

    def structure(self) -> tuple:
        """What must agree for two instances to share a class without optional parts."""
        return (tuple((e.path, skeleton(e.expr)) for e in self.entries),
                tuple((s.key, s.inputs, s.drop_path) for s in self.steps), self.exit, self.zero)


class Scopes:
    """The lowered nodes of a graph and its containers (qualified names), with their inputs and outputs."""

    def __init__(self, g: Graph, shapes, zero: tuple[str, ...] = ()):
        self.g, self.shapes = g, shapes
        self.order = [nid for nid in g.order if not g.node(nid).op.traits.source]
        self.pos = {nid: i for i, nid in enumerate(self.order)}
        self.code: dict[int, Emitted] = {}
        self.module_of: dict[int, str] = {}
        self.tree = ModuleTree()
        self.node_id = g.by_name()
        self._lower_nodes()
        _build_tree(g, shapes, self.order, self.tree)
        self.members: dict[str, list[int]] = {"": []}
        for nid in self.order:
            name = self.g.node(nid).name
            self.members[""].append(nid)
            while "." in name:
                name = name.rpartition(".")[0]
                self.members.setdefault(name, []).append(nid)
        self.zero = set(zero)
        self._parsed: dict[str, Expr] = {}
        self._io: dict[str, tuple[list[int], list[int]]] = {}

    def _lower_nodes(self):
        g, shapes = self.g, self.shapes
        uses: dict[int, int] = {}
        for nid in self.order:
            for p in g.inputs(nid):
                uses[p] = uses.get(p, 0) + 1
        for nid in g.output_nodes().values():  # an output is a use: no in-place op may overwrite it
            uses[nid] = uses.get(nid, 0) + 1
        for nid in self.order:
            node = g.node(nid)
            if _owner(node):
                self.module_of[nid] = _owner(node)
                continue
            _check_names(node)
            ins = g.inputs(nid)
            first = ins[0] if ins else None
            inplace = node.op.traits.inplace and first is not None and uses.get(first) == 1 and _fresh(g, first, uses)
            self.code[nid] = emit(node.op, EmitContext(node, [shapes[p] for p in ins], shapes[nid], inplace))
            self.module_of[nid] = node.name
            self.tree.ctor[node.name] = self.code[nid].ctor

    # ------------------------------------------------------------ containers

    def children(self, path: str) -> list[str]:
        return self.tree.children.get(path, [])

    def is_node(self, name: str) -> bool:
        return name in self.tree.ctor

    def expr_of(self, name: str) -> Expr:
        source = self.tree.ctor[name]
        if source not in self._parsed:
            self._parsed[source] = parse(source)
        return self._parsed[source]

    def io(self, path: str) -> tuple[list[int], list[int]]:
        """(outside values the container reads, its values read outside or returned), in order."""
        if path not in self._io:
            nodes = self.members.get(path, [])
            inside = set(nodes)
            ins = list(dict.fromkeys(p for n in nodes for p in self.g.inputs(n) if p not in inside))
            returned = set(self.g.output_nodes().values())
            outs = [n for n in nodes if n in returned or any(c not in inside for c in self.g.consumers(n))]
            self._io[path] = (ins, outs)
        return self._io[path]

    def is_unit(self, path: str) -> bool:
        """One input, one output, contiguous nodes, and every module it calls inside it."""
        nodes = self.members.get(path)
        if not path or not nodes or path not in self.tree.children:
            return False
        ins, outs = self.io(path)
        if len(ins) != 1 or len(outs) != 1:
            return False
        if self.pos[nodes[-1]] - self.pos[nodes[0]] + 1 != len(nodes):
            return False
        return all(self.module_of[n].startswith(path + ".") for n in nodes)

    def shared_copies(self) -> dict[str, str]:
        """Containers that apply an earlier one's weights again (`U x n shared`): copy -> the unit it repeats.

        A copy has the owner's layers under the same relative names, on the same inputs; its
        weighted layers share the owner's tensors (ir.Node.shared_with), the rest are equal ops."""
        if hasattr(self, "_copies"):
            return self._copies
        self._copies = {}
        for path in self.tree.children:
            nodes = self.members.get(path, [])
            first = next((self.g.node(n) for n in nodes if self.g.node(n).shared_with), None)
            if not path or first is None or not first.name.startswith(path + "."):
                continue
            suffix = first.name[len(path):]
            owner = first.shared_with[: len(first.shared_with) - len(suffix)] if first.shared_with.endswith(suffix) else None
            if owner and owner.rpartition(".")[0] == path.rpartition(".")[0] and self._repeats(path, owner):
                self._copies[path] = owner
        return self._copies

    def _repeats(self, path: str, owner: str) -> bool:
        nodes, theirs = self.members.get(path, []), self.members.get(owner, [])
        if len(nodes) != len(theirs) or not self.is_unit(owner) or len(self.io(path)[1]) != 1:
            return False
        mine_at, theirs_at = {n: k for k, n in enumerate(nodes)}, {n: k for k, n in enumerate(theirs)}
        for mine, own in zip(nodes, theirs):
            a, b = self.g.node(mine), self.g.node(own)
            if a.name[len(path):] != b.name[len(owner):] or a.op != b.op:
                return False
            if a.shared_with != b.name and a.op.state([self.shapes[i] for i in self.g.inputs(mine)]):
                return False  # weights of its own
            if [mine_at.get(i) for i in self.g.inputs(mine)] != [theirs_at.get(i) for i in self.g.inputs(own)]:
                return False
        return True

    def relative(self, path: str, name: str) -> str:
        return name[len(path) + 1:] if path else name

    def entry_shape(self, path: str):
        ins, _ = self.io(path)
        return self.shapes[ins[0]]
