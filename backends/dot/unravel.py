"""The unraveled view of a small residual net (Veit et al. 2016, figure 1b): every path drawn.

A chain of n residual modules y_i = y_{i-1} + f_i(y_{i-1}) unrolls into 2^n
paths. Drawn as a tree: at module i every path so far either skips f_i or goes
through a copy of it, and all paths meet in one sum at the end.

    input -> stem -> f1 -> f2 ... -> (+) -> head          3 modules: f1 once, f2 twice,
                \\--------\\--------/                        f3 four times, 8 paths into (+)

Elementwise ops between modules (the ReLU after each add) are not drawn (the
picture is of the sum of paths); a heavier op between modules (a pooling
layer) gathers the paths in a sum first and is drawn once. A projection or
zero-padding shortcut is drawn as a small dashed box on each skipping path.
A gate (x * sigmoid(...), squeeze-and-excitation) adds no path: between
modules it is one box, inside a module it is part of f_i. The residual
modules are the elaborator's records (ir.ResidualUnit), not a guess.
"""
from __future__ import annotations

from archdsl.errors import ArchError
from archdsl.ir import Graph, Role, qualified_parent
from archdsl.ops import Merge, fmt

from .view import Edge, Item, View, view_title

WIDE_FROM = 4  # more modules than this: draw left to right
MAX_MODULES = 8  # 256 paths: the most that still reads as a picture
MODULE_FILLS = ("#d6e6f5", "#fde3c8", "#d9efd5", "#e4dcf1", "#f9dcd6", "#d5efee", "#fbf0c9", "#f3d9ec")


def residual_units(g: Graph):
    """The residual modules of a net that is a chain of them (and gates); ArchError if it is not."""
    units = [u for u in g.units if u.kind == "residual"]
    joined = {u.join for u in units}
    for nid in g.order:
        node = g.node(nid)
        if len(g.inputs(nid)) >= 2 and node.op.traits.merge is Merge.SUM and nid not in joined:
            raise ArchError(f"--unravel draws residual nets (each join a residual add with one shortcut); "
                            f"'{node.name}' ({node.kind}) joins {len(g.inputs(nid))} inputs and is no residual unit")
    for u in g.units:
        if u.kind != "residual" or sum(r is Role.BODY for r in g.roles(u.join)) != 1:
            raise ArchError(f"--unravel draws one branch per residual unit; {g.node(u.join).name} ({u.kind}) has more")
        inner = [n for n in u.body if len(g.inputs(n)) >= 2 and g.node(n).op.traits.merge is Merge.SUM]
        if inner:
            raise ArchError(f"--unravel draws residual nets whose branches hold no further joins; "
                            f"'{g.node(inner[0]).name}' is one")
    if not units:
        raise ArchError("--unravel needs a residual net; this one has no residual modules (one path only)")
    if len(units) > MAX_MODULES:
        raise ArchError(
            f"--unravel draws all 2^n paths, which reads well up to n = {MAX_MODULES}; this net has {len(units)} "
            f"residual modules (2^{len(units)} paths). Use `archdsl paths` for the numbers"
        )
    return units


def gate_branches(g: Graph, claimed: set) -> dict[int, list[int]]:
    """Gates outside the residual modules: gate node -> the nodes of its modulating branch."""
    gates = {}
    for nid in g.order:
        if nid in claimed or g.node(nid).op.traits.merge is not Merge.GATE:
            continue
        data = [u for u, r in zip(g.inputs(nid), g.roles(nid)) if r is Role.DATA]
        modulating = [u for u, r in zip(g.inputs(nid), g.roles(nid)) if r is Role.GATE]
        before = set().union(*(g.ancestors(u) for u in data))
        gates[nid] = sorted(set().union(*(g.ancestors(u) for u in modulating)) - before)
    return gates


def build_unravel_view(arch) -> View:
    return _Unraveller(arch).build()


class _Unraveller:
    """Walks the network once; `ends` are the items the paths so far end in."""

    def __init__(self, arch):
        self.arch, self.g = arch, arch.graph
        self.units = residual_units(self.g)
        self.in_unit = {n: i for i, u in enumerate(self.units) for n in u.body + u.shortcut + (u.join,)}
        self.gates = gate_branches(self.g, set(self.in_unit))
        self.in_gate = {n for branch in self.gates.values() for n in branch}
        self.view = View(f"{view_title(arch)} · unraveled: {2 ** len(self.units)} paths", straight=False)
        if len(self.units) > WIDE_FROM:
            self.view.rankdir = "LR"  # 2^n leaves side by side would be too wide to read
        self.ends: list[str] = []
        self.last_trunk: str | None = None
        self.count = 0

    def add(self, title, ops, shape, family, **extra) -> str:
        key = f"u{self.count}"
        self.count += 1
        self.view.items.append(Item(key, title, ops, shape, family, None, **extra))
        return key

    def gather(self) -> None:
        if len(self.ends) > 1:
            total = self.add("", [("Σ", True)], f"sum of {len(self.ends)} paths", "merge", join=True)
            self.view.edges += [Edge(e, total, False) for e in self.ends]
            self.ends = [total]

    def trunk(self, title, ops, shape, family) -> None:
        """A box every path goes through."""
        self.gather()
        key = self.add(title, ops, shape, family)
        self.view.edges += [Edge(e, key, False) for e in self.ends]
        self.ends, self.last_trunk = [key], key

    def build(self) -> View:
        g, shapes = self.g, self.arch.shapes
        done = set()
        for nid in g.order:
            i = self.in_unit.get(nid)
            if i is not None:
                if i not in done and nid == self.units[i].join:
                    done.add(i)
                    self.ends = _expand_unit(self.view, self.add, self.units[i], i, self.ends, self.arch)
                    self.last_trunk = None
                continue
            if nid in self.in_gate:
                continue  # drawn with its gate
            node = g.node(nid)
            if nid in self.gates:
                ops = " · ".join(g.node(n).op.describe() for n in self.gates[nid] if not g.node(n).op.traits.minor)
                label = f"gate: x · σ({ops})" if ops else "gate"
                self.trunk(qualified_parent(node.name) or node.name, [(label, True)], fmt(shapes[nid]), "gate")
            elif node.op.traits.minor and len(self.ends) > 1:
                continue  # the ReLU after an add: not part of the sum-of-paths picture
            elif node.op.traits.minor and self.last_trunk is not None:
                item = next(it for it in self.view.items if it.key == self.last_trunk)
                item.ops.append((node.op.describe(), False))
                item.shape = fmt(shapes[nid])
            else:
                shape = "" if node.op.traits.source else fmt(shapes[nid])
                self.trunk(node.name, [(node.op.describe(), True)], shape, node.op.family)
        self.gather()
        return self.view


def _expand_unit(view: View, add, unit, index: int, ends: list[str], arch) -> list[str]:
    """Each path so far splits in two: through a copy of f_i, or past it (through the shortcut)."""
    g = arch.graph
    label = f"f{_subscript(index + 1)}"
    shortcut_ops = [g.node(n).kind for n in unit.shortcut if not g.node(n).op.traits.minor]
    new_ends, level = [], []
    for e in ends:
        if unit.shortcut:
            past = add("", [(" · ".join(shortcut_ops) or "shortcut", True)], "", "shortcut", shortcut=True)
        else:
            past = add("", [("", True)], "", "pass")  # the identity: a point on the path
        view.edges.append(Edge(e, past, True))
        body = add("", [(label, True)], "", f"module{index}", note=qualified_parent(g.node(unit.join).name) or g.node(unit.join).name)
        view.edges.append(Edge(e, body, False))
        new_ends += [past, body]
        level += [past, body]
    view.ranks.append(level)
    return new_ends


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def module_fill(family: str) -> str | None:
    """Fill colour for a module copy ("module3" -> the 4th colour)."""
    if family.startswith("module") and family[6:].isdigit():
        return MODULE_FILLS[int(family[6:]) % len(MODULE_FILLS)]
    return None
