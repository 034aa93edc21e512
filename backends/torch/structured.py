"""IR -> PyTorch source that mirrors the spec: a class per block template, nn.Sequential for repetitions.

    resnet50.arch  ->  class Bottleneck(nn.Module):
                           def __init__(self, in_channels, planes, stride=1, downsample=False): ...
                           def forward(self, x): ...     # the residual add, the optional downsample
                       class Resnet50(Group):
                           def __init__(self, zero_init_residual=False):
                               self.layer1 = nn.Sequential(
                                   Bottleneck(64, 64, downsample=True), *[Bottleneck(256, 64) for _ in range(2)]
                               )

Structure comes from the IR (g.modules: block calls with their template,
stages, sequences, dense blocks; the module tree of codegen), never from the
graph's shape. A container the structured form cannot call as one unit keeps
the flat form inside its parent's forward (`self.a.b(x)` lines), so every
graph compiles; names, registration order and so `state_dict` are the flat
emitter's. The instances of one template share a class (classes.py); a
repetition is a Sequential whose equal (or arithmetically varying) items
are one comprehension, so ResNet-20 and ResNet-1202 differ only in numbers.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import replace

from archdsl.transforms import fold_bn as fold_graph

from .classes import TemplateClasses
from .codegen import input_variables, residual_branch_norms
from .exprs import Call, Expr, Lit, Repeat, Signatures, Slot, render, template
from .scopes import Body, Entry, Scopes, Step

class Structured:
    def __init__(self, arch, fold_bn: bool = False):
        g, self.folds = arch.graph, ()
        if fold_bn:
            g, self.folds = fold_graph(g)
        self.arch, self.fold_bn = arch, fold_bn
        self.scopes = Scopes(g, arch.shapes, () if fold_bn else residual_branch_norms(g))
        self.signatures = Signatures()
        self.templates = TemplateClasses(self)
        self.dense_classes: dict[tuple, str] = {}
        self.parallel_classes: dict[tuple, str] = {}  # (branches, join, join constructor) -> class name
        self.runtime: set[str] = set()  # the runtime definitions (layers.py) the structure itself uses
        self._units: dict[str, Expr | None] = {}
        self._bodies: dict[str, Body] = {}
        self.drop_path_groups: dict[str, int] = {}
        for nid, code in self.scopes.code.items():
            op = g.node(nid).op
            if code.drop_path and op.drop in ("global", "mix"):
                self.drop_path_groups[op.group] = op.num_columns

    # ------------------------------------------------------------ bodies and units

    def body(self, path: str) -> Body:
        if path not in self._bodies:
            self._bodies[path] = self._body(path)
        return self._bodies[path]

    def _entries(self, path: str) -> tuple[list[Entry], list[str]]:
        """The assignments of `path`'s __init__, and the residual-branch BNs among them."""
        s, copies = self.scopes, self.scopes.shared_copies()
        entries: list[Entry] = []
        zero: list[str] = []

        def walk(container: str):
            for child in s.children(container):
                rel = s.relative(path, child)
                if child in copies:
                    continue  # it calls its owner again: nothing of its own to register
                if s.is_node(child):
                    entries.append(Entry(rel, s.expr_of(child)))
                    if child in s.zero:
                        zero.append(rel)
                elif self.unit(child) is not None:
                    entries.append(Entry(rel, self.unit(child)))
                elif self._numbered_units(child) is not None:  # called one by one: an nn.ModuleList
                    items = compress(self._numbered_units(child), self.signatures)
                    entries.append(Entry(rel, Call("nn.ModuleList", (as_list(items),))))
                else:
                    entries.append(Entry(rel, None))
                    walk(child)

        walk(path)
        return entries, zero

    def _body(self, path: str) -> Body:
        s, copies = self.scopes, self.scopes.shared_copies()
        entries, zero = self._entries(path)
        steps, key_of, calls = [], {}, {}
        ins, outs = s.io(path)
        if path:
            key_of[ins[0]] = "x"
        else:
            key_of[s.g.input] = "x"
            key_of.update(input_variables(s.g))  # the further inputs: keys are their argument names
        done: set[str] = set()
        for nid in s.members[path]:
            unit = self._outer_unit(path, s.g.node(nid).name)
            if unit is not None:
                if unit in done:
                    continue
                done.add(unit)
                (src,), (out,) = s.io(unit)
                owner = copies.get(unit, unit)
                callee = s.relative(path, owner)
                calls[callee] = calls.get(callee, 0) + 1
                key = callee if calls[callee] == 1 else f"{callee}#{calls[callee]}"
                step = Step(callee, key, (key_of[src],), out, drop_path=self.needs_dp(owner))
            else:
                callee = s.relative(path, s.module_of[nid])
                calls[callee] = calls.get(callee, 0) + 1
                key = callee if calls[callee] == 1 else f"{callee}#{calls[callee]}"
                code = s.code[nid] if nid in s.code else s.code[s.node_id[s.module_of[nid]]]
                step = Step(callee, key, tuple(key_of[p] for p in s.g.inputs(nid)), nid, code.drop_path,
                            code.parameter)
                out = nid
            key_of[out] = step.key
            steps.append(step)
        exit_key = key_of[outs[0]] if path else key_of[s.g.output]
        body = Body(path, tuple(entries), tuple(steps), exit_key, tuple(zero), any(t.drop_path for t in steps))
        if not path:
            body = replace(body, inputs=("x", *input_variables(s.g).values()),
                           exits=tuple((k, key_of[n]) for k, n in (s.g.outputs or {}).items()),
                           as_tuple=s.g.outputs_as_tuple)
        return body

    def _numbered_units(self, path: str) -> list[Expr] | None:
        """The constructors of a container's children, where they are units named 0, 1, ... (fractal columns)."""
        kids, copies = self.scopes.children(path), self.scopes.shared_copies()
        if len(kids) < 2 or kids != [f"{path}.{i}" for i in range(len(kids))] or any(k in copies for k in kids):
            return None
        items = [None if self.scopes.is_node(k) else self.unit(k) for k in kids]
        return None if None in items else items

    def _outer_unit(self, path: str, name: str) -> str | None:
        """The outermost unit strictly inside `path` that holds node `name`."""
        parts = name.split(".")
        start = len(path.split(".")) if path else 0
        copies = self.scopes.shared_copies()
        for i in range(start + 1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in copies or self.unit(prefix) is not None:
                return prefix
        return None

    def needs_dp(self, path: str) -> bool:
        return self.body(path).needs_dp

    def unit(self, path: str) -> Expr | None:
        """The constructor expression of container `path` when it is called as one unit, else None."""
        if path not in self._units:
            self._units[path] = None  # no unit contains itself
            self._units[path] = self._unit(path) if self.scopes.is_unit(path) else None
        return self._units[path]

    def _unit(self, path: str) -> Expr | None:
        module = self.scopes.g.modules.get(path)
        if module is not None and module.kind == "block" and module.template:
            return self.templates.call(path, module.template)
        if module is not None and module.kind == "dense":
            return self._dense(path)
        if module is not None and module.kind == "parallel":
            return self._parallel(path)
        return self._sequential(path)

    def chain(self, body: Body, named: bool = False) -> bool:
        """Items each feeding the next, named 0, 1, ... (or, with `named`, any names): an nn.Sequential."""
        steps = body.steps
        paths = [e.path for e in body.entries]
        numbered = paths == [str(i) for i in range(len(steps))]
        if body.needs_dp or not (numbered or named and all("." not in p for p in paths)):
            return False
        prev = "x"
        for entry, step in zip(body.entries, steps):
            if step.callee != entry.path or step.inputs != (prev,) or step.parameter or entry.expr is None:
                return False
            prev = step.key
        return len(steps) == len(paths) and prev == body.exit and not body.zero

    def _sequential(self, path: str) -> Expr | None:
        body = self.body(path)
        if self.chain(body):
            return Call("nn.Sequential", tuple(compress([e.expr for e in body.entries], self.signatures)))
        if self.chain(body, named=True):  # named items: nn.Sequential(OrderedDict(conv=..., bn=...))
            if all(_keyword_name(e.path) for e in body.entries):
                return Call("nn.Sequential", (Call("OrderedDict", (), tuple((e.path, e.expr) for e in body.entries)),))
            pairs = tuple(Call("()", (Lit(e.path), e.expr)) for e in body.entries)  # [("conv1", ...), ("2", ...)]
            return Call("nn.Sequential", (Call("OrderedDict", (Call("[]", pairs),)),))
        times = self._applications(body)
        if times is not None:
            self.runtime.add("SharedRepeat")
            return Call("SharedRepeat", tuple(e.expr for e in body.entries), (("times", Lit(times)),))
        return None

    def _applications(self, body: Body) -> tuple[int, ...] | None:
        """How often each item is applied in a row, where the items (0, 1, ...) feed each other and some
        run again with the same weights (`x n shared`); else None."""
        if body.needs_dp or body.zero or [e.path for e in body.entries] != [str(i) for i in range(len(body.entries))]:
            return None
        times, prev = [0] * len(body.entries), "x"
        for step in body.steps:
            k = int(step.callee) if step.callee.isdigit() else -1
            if not 0 <= k < len(times) or step.inputs != (prev,) or step.parameter or any(times[k + 1:]) or \
                    body.entries[k].expr is None:
                return None
            times[k] += 1
            prev = step.key
        return tuple(times) if prev == body.exit and all(times) and max(times) > 1 else None

    def _dense(self, path: str) -> Expr | None:
        """`dense { ... }`: layer_i on the latest concat, concat_i = [x, out_1 .. out_i]."""
        body = self.body(path)
        steps, entries = body.steps, {e.path: e.expr for e in body.entries}
        if len(steps) % 2 or body.needs_dp or body.zero or len(entries) != len(steps):
            return None
        prev, outs, names, joins = "x", [], [], []
        for layer, join in zip(steps[::2], steps[1::2]):
            outs.append(layer.key)
            if layer.inputs != (prev,) or join.inputs != ("x", *outs) or entries.get(join.callee) is None:
                return None
            names.append(layer.callee)
            joins.append(join.callee)
            prev = join.key
        match = re.fullmatch(r"([A-Za-z_]\w*?)(\d+)", names[0])
        join_ctor = render(entries[joins[0]])
        if prev != body.exit or match is None or not joins[0].isidentifier():
            return None
        prefix, start = match.group(1), int(match.group(2))
        if names != [f"{prefix}{start + i}" for i in range(len(names))] or \
                joins != [joins[0]] + [f"{joins[0]}{i}" for i in range(1, len(joins))] or \
                any(render(entries[j]) != join_ctor for j in joins):
            return None
        key = (prefix, start, joins[0], join_ctor)
        name = self.dense_classes.setdefault(key, "DenseBlock" + (str(len(self.dense_classes) + 1)
                                                                    if self.dense_classes else ""))
        return Call(name, (as_list(compress([entries[n] for n in names], self.signatures)),))


    def _parallel(self, path: str) -> Expr | None:
        """`parallel(merge=m) { branch: {...} x n }`: the n branches on one input, their outputs joined."""
        body = self.body(path)
        entries, steps = body.entries, body.steps
        if len(entries) != 2 or body.needs_dp or body.zero:
            return None
        (group, branches), join = (entries[0].path, entries[0].expr), entries[1]
        if not (isinstance(branches, Call) and branches.fn == "nn.ModuleList") or join.expr is None or \
                not (_keyword_name(group) and _keyword_name(join.path)):
            return None
        n = len(steps) - 1
        if [(s.callee, s.inputs) for s in steps[:n]] != [(f"{group}.{i}", ("x",)) for i in range(n)]:
            return None
        last = steps[-1]
        if last.callee != join.path or last.inputs != tuple(s.key for s in steps[:n]) or last.key != body.exit:
            return None
        key = (group, join.path, render(join.expr))
        local = camel_name(path.rpartition(".")[2])
        taken = set(self.parallel_classes.values()) | set(self.dense_classes.values())
        name = self.parallel_classes.get(key) or (local if local and local not in taken else
                                                   f"Parallel{len(self.parallel_classes) + 1}")
        self.parallel_classes[key] = name
        return Call(name, branches.args)


def camel_name(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"_+", name) if p) if name.isidentifier() else ""


# ---------------------------------------------------------------- repetitions


def compress(exprs: list[Expr], signatures: Signatures) -> list[Expr]:
    """Items of a repetition: runs of equal items (two or more), or of three or more whose numbers
    grow by a constant step, become one starred comprehension (`*[Basic(32, 32) for _ in range(199)]`)."""
    out, i = [], 0
    while i < len(exprs):
        best, best_expr = 1, exprs[i]
        for j in range(i + 2, len(exprs) + 1):
            run = _run(exprs[i:j], signatures)
            if run is None:
                break
            if run[1] or j - i >= 3:
                best, best_expr = j - i, run[0]
        out.append(best_expr)
        i += best
    return out


def _run(exprs: list[Expr], signatures: Signatures) -> tuple[Expr, bool] | None:
    """(the comprehension, whether its items are all equal), or None."""
    varying = []

    def choose(path, values):
        if len(set(map(repr, values))) == 1:
            return Lit(values[0])
        if not all(type(v) is int for v in values):
            return None
        step = values[1] - values[0]
        if any(values[k] != values[0] + k * step for k in range(len(values))):
            return None
        varying.append(path)
        term = "i" if abs(step) == 1 else f"{abs(step)} * i"
        if values[0] == 0:
            return Slot(term if step > 0 else f"-{term}")
        return Slot(f"{values[0]} {'+' if step > 0 else '-'} {term}")

    shape = template(exprs, signatures, choose)
    if shape is None:
        return None
    return Repeat(shape, len(exprs), "i" if varying else "_"), not varying


def as_list(items: list[Expr]) -> Expr:
    """A list argument: `[a, b]`, or the comprehension itself when it is the only item."""
    if len(items) == 1 and isinstance(items[0], Repeat):
        return replace(items[0], star=False)
    return Call("[]", tuple(items))


def _keyword_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)
