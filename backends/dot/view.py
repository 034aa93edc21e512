"""What a diagram shows: boxes, clusters and edges at one of three levels (no graphviz here).

    layer   every op a box; a cluster per stage and per block
    block   elementwise ops fused into the conv, pool or join next to them
            ("conv 3x3/2, 64 · bn · relu"); a cluster per block
    stage   one box per stage (or top-level module) with its blocks "x N" and output shape

Runs of identical consecutive blocks (same template, arguments and ops, such as
ResNet-152's layer3.1 ... layer3.35) fold into one cluster drawn once and marked
"x 35", unless `expand`. Edges of shortcut paths (identity skips, projections,
DenseNet's direct connections) are marked `skip` and drawn dashed.

    layer1.0 [conv1 · bn1 · relu] -> [conv2 · bn2] -> [add · relu_out]      block level
         \\------------------------- skip ------------/
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archdsl.ir import Module, Role, qualified_parent
from archdsl.ops import fmt
from archdsl.passes.paths import shortcut_nodes, skip_edges

LEVELS = ("stage", "block", "layer")


@dataclass
class Item:
    """One box."""

    key: str  # DOT node id
    title: str  # the name, relative to its cluster
    ops: list[tuple[str, bool]]  # (text, is the main op) in order
    shape: str  # output shape
    family: str  # fill colour (op family, or "stage")
    cluster: str | None
    shortcut: bool = False  # on a shortcut path: dashed border
    join: bool = False  # a join (add, concat, mean): drawn round
    note: str = ""  # a small extra line (params of a stage)


@dataclass
class Cluster:
    key: str
    title: str
    subtitle: str
    parent: str | None
    style: str  # "stage" | "block" | "fold"


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    skip: bool


@dataclass
class View:
    title: str
    items: list[Item] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    rankdir: str = "TB"
    ranks: list[list[str]] = field(default_factory=list)  # item keys drawn side by side, in this order
    straight: bool = True  # keep each cluster's main line straight (graphviz `group`)


def _si(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def view_title(arch) -> str:
    return f"{arch.name} · {arch.inputs_text} → {arch.outputs_text} · {_si(arch.params)} params · {_si(arch.macs)} MACs"


class _Builder:
    def __init__(self, arch, level: str, expand: bool):
        self.arch, self.level, self.expand = arch, level, expand
        self.g = g = arch.graph
        self.mods = arch.modules
        self.order = g.order
        self.names = {nid: g.node(nid).name for nid in self.order}
        self.shortcuts = shortcut_nodes(g)
        self.skips = skip_edges(g)
        self.view = View(view_title(arch))
        self.alias: dict[int, int] = {}  # folded node -> the node drawn for it
        self.fold_of_node: dict[int, str] = {}  # node (drawn or folded) -> fold cluster key
        self.item_of: dict[int, str] = {}
        self.cluster_of_node: dict[int, str | None] = {}

    # ------------------------------------------------------------ containers

    def _ancestors(self, nid) -> list[str]:
        """Module names above the node, outermost first ("" excluded)."""
        chain, name = [], qualified_parent(self.names[nid])
        while name:
            chain.append(name)
            name = qualified_parent(name)
        return [m for m in reversed(chain) if m in self.mods]

    def _containers(self):
        """For each node: its stage-like container, its outermost block, and its stage-level unit.

        A *wrapper* (a named sequence holding several modules, like DenseNet's
        `features`) is looked through: its children are the stages.
        """
        children: dict[str, int] = {}
        for name in self.mods:
            if name:
                parent = qualified_parent(name)
                children[parent] = children.get(parent, 0) + 1
        wrapper = {n for n, m in self.mods.items() if m.kind == "sequence" and children.get(n, 0) >= 2}
        self.stage_of, self.block_of, self.unit_of = {}, {}, {}
        for nid in self.order:
            chain = [m for m in self._ancestors(nid) if m not in wrapper]
            self.unit_of[nid] = chain[0] if chain else None
            self.stage_of[nid] = chain[0] if chain and self.mods[chain[0]].kind != "block" else None
            self.block_of[nid] = next((m for m in chain if self.mods[m].kind == "block"), None)

    def _cluster(self, key, title, subtitle, parent, style) -> str:
        self.view.clusters.append(Cluster(key, title, subtitle, parent, style))
        return key

    # ------------------------------------------------------------ folding

    def _block_nodes(self) -> dict[str, list[int]]:
        nodes: dict[str, list[int]] = {}
        for nid in self.order:
            if self.block_of[nid] is not None:
                nodes.setdefault(self.block_of[nid], []).append(nid)
        return nodes

    def _signature(self, block: str, nodes: list[int]):
        module = self.mods[block]
        cut = len(block) + 1
        inside = set(nodes)
        ops = tuple((self.names[n][cut:], self.g.node(n).op) for n in nodes)
        edges = tuple((self.names[u][cut:], self.names[v][cut:]) for v in nodes for u in self.g.inputs(v) if u in inside)
        return (module.template, repr(getattr(module.info, "args", None)), ops, edges)

    def _runs(self, block_nodes) -> list[list[str]]:
        """Maximal runs of two or more consecutive sibling blocks with equal signatures.

        Consecutive: nothing but joins (a dense block's concats) lies between
        one block's last node and the next one's first.
        """
        pos = {nid: i for i, nid in enumerate(self.order)}
        runs, current, last_key, last_end = [], [], None, None
        for block, nodes in block_nodes.items():
            key = (qualified_parent(block), self._signature(block, nodes))
            between = self.order[pos[last_end] + 1 : pos[nodes[0]]] if last_end is not None else []
            adjacent = all(len(self.g.inputs(n)) >= 2 for n in between)
            if current and key == last_key and adjacent:
                current.append(block)
            else:
                if len(current) > 1:
                    runs.append(current)
                current = [block]
            last_key, last_end = key, nodes[-1]
        if len(current) > 1:
            runs.append(current)
        return runs

    def _fold(self, run: list[str], block_nodes) -> None:
        rep = run[0]
        by_rel = {self.names[n][len(rep) + 1:]: n for n in block_nodes[rep]}
        key = f"cluster_f{block_nodes[rep][0]}"
        members = set()
        for block in run:
            for n in block_nodes[block]:
                members.add(n)
                self.fold_of_node[n] = key
                if block != rep:
                    self.alias[n] = by_rel[self.names[n][len(block) + 1:]]
        first, last = block_nodes[run[0]][0], block_nodes[run[-1]][-1]
        parent = qualified_parent(rep)
        entry = block_nodes[rep][0]
        for nid in self.order:  # the joins between the members (a dense block's concats) fold in too
            if first < nid < last and nid not in members and self.block_of[nid] is None:
                if not parent or self.names[nid].startswith(parent + "."):
                    self.alias[nid] = entry
                    self.fold_of_node[nid] = key
        self.fold_keys[rep] = (key, run)

    # ------------------------------------------------------------ items

    def build(self) -> View:
        self._containers()
        self.fold_keys: dict[str, tuple[str, list[str]]] = {}
        if self.level != "stage":
            block_nodes = self._block_nodes()
            if not self.expand:
                for run in self._runs(block_nodes):
                    self._fold(run, block_nodes)
            self._make_clusters(block_nodes)
            self._make_items()
            self._dissolve_single_item_blocks()
        else:
            self._make_stage_items()
        self._make_edges()
        return self.view

    def _make_clusters(self, block_nodes) -> None:
        stage_keys: dict[str, str] = {}
        block_keys: dict[str, str] = {}
        for nid in self.order:
            if nid in self.alias:
                continue
            stage, block = self.stage_of[nid], self.block_of[nid]
            parent = None
            if stage is not None:
                if stage not in stage_keys:
                    stage_keys[stage] = self._cluster(f"cluster_s{nid}", stage, self._stage_subtitle(stage), None, "stage")
                parent = stage_keys[stage]
            if block is not None:
                if block not in block_keys:
                    module = self.mods[block]
                    if block in self.fold_keys:
                        key, run = self.fold_keys[block]
                        title = f"{_short(run[0])} … {_short(run[-1])}"
                        block_keys[block] = self._cluster(key, title, f"{module.template} x {len(run)}", parent, "fold")
                    else:
                        block_keys[block] = self._cluster(f"cluster_b{nid}", block, _call_text(module), parent, "block")
                parent = block_keys[block]
            self.cluster_of_node[nid] = parent
        self.cluster_prefix = {}
        for name, key in list(stage_keys.items()) + list(block_keys.items()):
            self.cluster_prefix[key] = name

    def _stage_subtitle(self, stage: str) -> str:
        children = [m for name, m in self.mods.items() if qualified_parent(name) == stage and m.kind == "block"]
        templates = {m.template for m in children}
        if children and len(templates) == 1:
            return f"{children[0].template} x {len(children)}"
        return f"{len(children)} blocks" if children else self.mods[stage].kind

    def _dissolve_single_item_blocks(self) -> None:
        """A block or stage drawn as one box (GoogLeNet's conv_bn) needs no cluster: the box takes its name."""
        view = self.view
        items_in: dict[str, list[Item]] = {}
        for item in view.items:
            items_in.setdefault(item.cluster, []).append(item)
        parents = {c.parent for c in view.clusters}
        keep = []
        for c in view.clusters:
            inside = items_in.get(c.key, [])
            if c.style in ("block", "stage") and len(inside) == 1 and c.key not in parents:
                item = inside[0]
                item.cluster = c.parent
                prefix = self.cluster_prefix.get(c.parent, "")
                item.title = c.title[len(prefix) + 1:] if prefix and c.title.startswith(prefix + ".") else c.title
                continue
            keep.append(c)
        view.clusters = keep

    def _drawn(self) -> list[int]:
        return [nid for nid in self.order if nid not in self.alias]

    def _make_items(self) -> None:
        drawn = self._drawn()
        if self.level == "layer":
            groups = [[nid] for nid in drawn]
        else:
            groups = self._fused_chains(drawn)
        for group in groups:
            self._add_op_item(group)

    def _fused_chains(self, drawn: list[int]) -> list[list[int]]:
        """Chains of single-input single-consumer nodes in one cluster, split so each holds one heavy op."""
        g, cluster = self.g, self.cluster_of_node
        drawn_set = set(drawn)

        def linked(a, b):
            return (len(g.consumers(a)) == 1 and len(g.inputs(b)) == 1 and b in drawn_set
                    and cluster[a] == cluster[b] and (a in self.shortcuts) == (b in self.shortcuts))

        groups, seen = [], set()
        for nid in drawn:
            if nid in seen:
                continue
            chain = [nid]
            while True:
                (nxt,) = g.consumers(chain[-1]) if len(g.consumers(chain[-1])) == 1 else (None,)
                if nxt is None or not linked(chain[-1], nxt) or nxt in seen:
                    break
                chain.append(nxt)
            seen.update(chain)
            groups.extend(self._split(chain))
        return groups

    def _heavy(self, nid) -> bool:
        return not self.g.node(nid).op.traits.minor

    def _split(self, chain: list[int]) -> list[list[int]]:
        """Light ops join the heavy op before them, or after them where the chain starts light (pre-activation)."""
        heavy = [i for i, n in enumerate(chain) if self._heavy(n)]
        if len(heavy) <= 1:
            return [chain]
        cuts = heavy[1:] if heavy[0] == 0 else [h + 1 for h in heavy[:-1]]
        parts, start = [], 0
        for c in cuts:
            parts.append(chain[start:c])
            start = c
        parts.append(chain[start:])
        return [p for p in parts if p]

    def _add_op_item(self, group: list[int]) -> None:
        g = self.g
        main = next((n for n in group if self._heavy(n)), group[0])
        node = g.node(main)
        cluster = self.cluster_of_node[main]
        prefix = self.cluster_prefix.get(cluster, "") if cluster else ""
        if cluster and cluster.startswith("cluster_f"):
            prefix = self._fold_rep_prefix(cluster)
        title = node.name[len(prefix) + 1:] if prefix and node.name.startswith(prefix + ".") else node.name
        if title.rsplit(".", 1)[-1].isdigit() and "." in title:
            title = title.rsplit(".", 1)[0]  # downsample.0 -> downsample: the module says more than a position
        ops = [(g.node(n).op.describe(), n == main) for n in group]
        shape = "" if node.op.traits.source else fmt(self.arch.shapes[group[-1]])
        key = f"n{main}"
        self.view.items.append(Item(key, title, ops, shape, node.op.family, cluster,
                                    shortcut=main in self.shortcuts, join=len(g.inputs(main)) >= 2))
        for n in group:
            self.item_of[n] = key

    def _fold_rep_prefix(self, key: str) -> str:
        for rep, (k, _) in self.fold_keys.items():
            if k == key:
                return rep
        return ""  # pragma: no cover

    def _make_stage_items(self) -> None:
        """One box per top-level module; top-level nodes fused as at block level."""
        loose: list[int] = []
        boxes: dict[str, list[int]] = {}
        for nid in self.order:
            unit = self.unit_of[nid]
            if unit is not None:
                boxes.setdefault(unit, []).append(nid)
            else:
                loose.append(nid)
            self.cluster_of_node[nid] = None
        self.cluster_prefix = {}
        order = {nid: i for i, nid in enumerate(self.order)}
        pending = sorted([(nodes[0], "box", name) for name, nodes in boxes.items()] + [(n, "node", None) for n in loose],
                         key=lambda t: order[t[0]])
        chains = {c[0]: c for c in self._fused_chains(loose)}
        for first, what, name in pending:
            if what == "node":
                if first in chains:
                    self._add_op_item(chains[first])
                continue
            nodes = boxes[name]
            module = self.mods[name]
            text = _call_text(module) if module.kind == "block" else self._stage_subtitle(name)
            counts = self.arch.module_counts.get(name)
            note = f"{_si(counts.params)} params · {_si(counts.macs)} MACs" if counts else ""
            key = f"n{first}"
            self.view.items.append(Item(key, name, [(text, True)], fmt(self.arch.shapes[nodes[-1]]), "stage", None, note=note))
            for n in nodes:
                self.item_of[n] = key

    # ------------------------------------------------------------ edges

    def _make_edges(self) -> None:
        g, seen = self.g, {}
        for v in self.order:
            for u in g.inputs(v):
                a, b = self.item_of[self.alias.get(u, u)], self.item_of[self.alias.get(v, v)]
                if a == b:
                    continue
                if (u in self.alias or v in self.alias) and self.fold_of_node.get(u) and self.fold_of_node.get(u) == self.fold_of_node.get(v):
                    continue  # between two copies inside one fold: the fold shows one copy's edges only
                skip = (u, v) in self.skips or u in self.shortcuts or v in self.shortcuts
                if (a, b) in seen:
                    seen[(a, b)] = seen[(a, b)] and skip  # a plain edge wins over a skip between the same boxes
                else:
                    seen[(a, b)] = skip
        self.view.edges = [Edge(a, b, skip) for (a, b), skip in seen.items()]
        if self.level == "stage":
            self._encoder_decoder_ranks()
        if g.outputs:  # several named outputs: a box for each, fed by the box that makes it
            for i, (key, nid) in enumerate(g.outputs.items()):
                box = f"output{i}"
                self.view.items.append(Item(box, "", [(f"output {key}", True)], fmt(self.arch.shapes[nid]), "io", None))
                self.view.edges.append(Edge(self.item_of[self.alias.get(nid, nid)], box, False))


    def _encoder_decoder_ranks(self) -> None:
        """A skip from one stage box into another (U-Net's down_k -> up_k) puts the two side by side, as the
        U-Net paper draws its levels: the contracting path goes down, the expanding path comes back up."""
        g, seen = self.g, set()
        for join, record in g.joins.items():
            for src, role in zip(g.inputs(join), record.roles):
                if role is not Role.SKIP:
                    continue
                while len(g.inputs(src)) == 1 and not g.node(src).op.weight_layer:
                    src = g.inputs(src)[0]  # back through the crop or resize to the map the skip carries
                a, c = self.item_of[self.alias.get(src, src)], self.item_of[self.alias.get(join, join)]
                if a != c and a not in seen and c not in seen:
                    seen.update((a, c))
                    self.view.ranks.append([a, c])
                    self.view.edges = [Edge(e.src, e.dst, True) if (e.src, e.dst) == (a, c) else e
                                       for e in self.view.edges]  # drawn as the skip it is


def _short(name: str) -> str:
    """features.denseblock1.denselayer6 -> denselayer6; layer1.2 stays (a bare number says too little)."""
    last = name.rsplit(".", 1)[-1]
    return name if last.isdigit() else last


def _call_text(module: Module) -> str:
    args = getattr(module.info, "args", None) or ()
    shown = ", ".join(f"{k}={_value(v)}" for k, v in args)
    return f"{module.template}({shown})" if module.template else module.kind


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def build_view(arch, level: str = "block", expand: bool = False) -> View:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return _Builder(arch, level, expand).build()
