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
"""
from __future__ import annotations

from archdsl import ir
from archdsl.errors import ArchError
from archdsl.ops import fmt
from archdsl.passes.paths import immediate_dominators, joins, shortcut_nodes

from .dot_view import LIGHT_FAMILIES, Edge, Item, View, view_title

WIDE_FROM = 4  # more modules than this: draw left to right
MAX_MODULES = 8  # 256 paths: the most that still reads as a picture
MODULE_FILLS = ("#d6e6f5", "#fde3c8", "#d9efd5", "#e4dcf1", "#f9dcd6", "#d5efee", "#fbf0c9", "#f3d9ec")


class _Unit:
    """One residual module: its join, body nodes and shortcut nodes."""

    def __init__(self, join, fork, body, shortcut, name):
        self.join, self.fork, self.body, self.shortcut, self.name = join, fork, body, shortcut, name


def _between(g, start, stop) -> list[int]:
    """Ancestors of `start` (itself included) back to, not including, `stop`; in topological order."""
    if start == stop:
        return []
    found, stack = set(), [start]
    while stack:
        n = stack.pop()
        if n != stop and n not in found:
            found.add(n)
            stack.extend(g.pred[n])
    return sorted(found)


def residual_units(g) -> list[_Unit]:
    """The residual modules of a net that is a chain of them; ArchError if it is not."""
    idom = immediate_dominators(g)
    shortcuts = shortcut_nodes(g)
    units = []
    for j in joins(g):
        node = ir.node(g, j)
        preds = ir.inputs(g, j)
        skips = [u for u in preds if u == idom[j] or u in shortcuts]
        if len(preds) != 2 or len(skips) != 1:
            raise ArchError(
                f"--unravel draws residual nets (each join a residual add with one shortcut); "
                f"'{node.name}' ({node.kind}) joins {len(preds)} inputs, {len(skips)} of them shortcuts"
            )
        (skip,) = skips
        (body_end,) = [u for u in preds if u != skip]
        body = _between(g, body_end, idom[j])
        inner = [n for n in body if len(g.pred[n]) >= 2]
        if inner:
            raise ArchError(f"--unravel draws residual nets whose branches hold no further joins; '{ir.node(g, inner[0]).name}' is one")
        shortcut = _between(g, skip, idom[j])
        name = ir.parent_name(node.name) or node.name
        units.append(_Unit(j, idom[j], body, shortcut, name))
    if not units:
        raise ArchError("--unravel needs a residual net; this one has no residual modules (one path only)")
    if len(units) > MAX_MODULES:
        raise ArchError(
            f"--unravel draws all 2^n paths, which reads well up to n = {MAX_MODULES}; this net has {len(units)} "
            f"residual modules (2^{len(units)} paths). Use `archdsl paths` for the numbers"
        )
    return units


def build_unravel_view(arch) -> View:
    g = arch.graph
    units = residual_units(g)
    in_unit = {}
    for i, u in enumerate(units):
        for n in u.body + u.shortcut + [u.join]:
            in_unit[n] = i
    view = View(f"{view_title(arch)} · unraveled: {2 ** len(units)} paths", straight=False)
    if len(units) > WIDE_FROM:
        view.rankdir = "LR"  # 2^n leaves side by side would be too wide to read
    ends: list[str] = []
    counter = iter(range(1_000_000))

    def add(title, ops, shape, family, **extra) -> str:
        key = f"u{next(counter)}"
        view.items.append(Item(key, title, ops, shape, family, None, **extra))
        return key

    def gather():
        nonlocal ends
        if len(ends) > 1:
            total = add("", [("Σ", True)], f"sum of {len(ends)} paths", "merge", join=True)
            for e in ends:
                view.edges.append(Edge(e, total, False))
            ends = [total]

    last_trunk = None
    done_units = set()
    for nid in ir.topo_order(g):
        i = in_unit.get(nid)
        if i is not None:
            if i not in done_units and nid == units[i].join:
                done_units.add(i)
                ends = _expand_unit(view, add, units[i], i, ends, arch)
                last_trunk = None
            continue
        node = ir.node(g, nid)
        light = node.op.family in LIGHT_FAMILIES
        if light and len(ends) > 1:
            continue  # the ReLU after an add: not part of the sum-of-paths picture
        if light and last_trunk is not None:
            item = next(it for it in view.items if it.key == last_trunk)
            item.ops.append((node.op.describe(), False))
            item.shape = fmt(arch.shapes[nid])
            continue
        gather()
        shape = "" if node.op.family == "io" else fmt(arch.shapes[nid])
        key = add(node.name, [(node.op.describe(), True)], shape, node.op.family)
        for e in ends:
            view.edges.append(Edge(e, key, False))
        ends, last_trunk = [key], key
    gather()
    return view


def _expand_unit(view: View, add, unit: _Unit, index: int, ends: list[str], arch) -> list[str]:
    """Each path so far splits in two: through a copy of f_i, or past it (through the shortcut)."""
    g = arch.graph
    label = f"f{_subscript(index + 1)}"
    shortcut_ops = [ir.node(g, n).kind for n in unit.shortcut if ir.node(g, n).op.family not in LIGHT_FAMILIES]
    new_ends, level = [], []
    for e in ends:
        if unit.shortcut:
            past = add("", [(" · ".join(shortcut_ops) or "shortcut", True)], "", "shortcut", shortcut=True)
        else:
            past = add("", [("", True)], "", "pass")  # the identity: a point on the path
        view.edges.append(Edge(e, past, True))
        body = add("", [(label, True)], "", f"module{index}", note=unit.name)
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
