"""One class per block template: its instances' bodies merged, the values that differ as parameters.

    bottleneck at layer1.0 (with downsample), layer1.1, ..., layer4.2
        ->  class Bottleneck(nn.Module):
                def __init__(self, in_channels, planes, stride=1, downsample=False)
            Bottleneck(64, 64, downsample=True), Bottleneck(256, 64), ...

Instances with the same structure share a class. One whose body is another's
with some top-level modules left out (a shortcut that is the identity here,
a projection there) joins it: the missing modules become `None` under a flag,
and forward skips them (`if self.downsample is not None:`), taking the input
the missing module would have read (the fork, for a residual shortcut). Each
literal of the instances' constructors becomes the template argument, or the
input width, whose values it has in every instance (`planes`, `planes * 4`,
`in_channels`); a value no argument explains becomes its own parameter. A
template whose instances cannot merge gets one class per structure
(`Bottleneck`, `Bottleneck2`).
"""
from __future__ import annotations

import itertools
import keyword
import re
from collections import Counter
from dataclasses import dataclass, field

from archdsl.ops import fmt

from .exprs import ACTIVATION_ARGUMENT, Call, Expr, Layers, Lit, Slot, skeleton, template
from .lowering import ACTIVATION_LAYERS
from .pyformat import Source
from .scopes import Body

_GEOMETRY = {"kernel_size", "stride", "padding", "dilation", "pad"}  # never named after a constant argument
_DEFAULTS = (0, 1, False, None)


@dataclass
class Param:
    name: str
    values: tuple  # one per instance
    default: object = None
    has_default: bool = False


@dataclass
class ClassDef:
    name: str
    template: str
    base: str  # nn.Module, Group (children with numeric names) or nn.Sequential
    params: list[Param]
    body: Body  # the fullest instance's
    exprs: dict[str, Expr | None]  # entry path -> generalised constructor
    optional: dict[str, str]  # entry path -> the flag that keeps it
    fallbacks: dict[str, str]  # step key of an optional module -> the input it passes on without it
    comments: dict[str, str]  # step key -> its shape, where every instance has the same
    count: int
    zero: tuple[str, ...] = ()  # the last BNs of residual branches inside (RESIDUAL_BNS)
    zero_flag: str | None = None  # the flag that says an instance has them, where only some do


def camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"_+", name) if p) or "Block"


class TemplateClasses:
    def __init__(self, structured):
        self.st = structured
        self.defs: list[ClassDef] = []
        self.calls: dict[str, Expr | None] = {}
        self._built: set[str] = set()

    def call(self, path: str, name: str) -> Expr | None:
        if name not in self._built:
            self._built.add(name)
            self._build(name)
        return self.calls.get(path)

    def _build(self, name: str):
        st = self.st
        paths = [p for p, m in st.scopes.g.modules.items()
                 if m.kind == "block" and m.template == name and st.scopes.is_unit(p)]
        bodies = [st.body(p) for p in paths]
        groups: list[_Group] = []
        for i, body in enumerate(bodies):
            if not any(g.join(i, body) for g in groups):
                groups.append(_Group(body, {body.structure(): body}, [i]))
        merged = True
        while merged:  # groups that grew apart while instances arrived may fit one class now
            merged = False
            for a, b in itertools.combinations(groups, 2):
                if a.absorb(b):
                    groups.remove(b)
                    merged = True
                    break
        for group in groups:
            group.members.sort()
        used = {d.name for d in self.defs} | set(st.dense_classes.values())
        for group in groups:
            cls = camel(name)
            k = 1
            while cls in used:
                k += 1
                cls = f"{camel(name)}{k}"
            used.add(cls)
            members = [paths[i] for i in group.members]
            cdef = self._class(cls, name, members, [bodies[i] for i in group.members], group)
            if cdef is not None:
                self.defs.append(cdef)

    def _class(self, cls: str, name: str, paths, bodies, group) -> ClassDef | None:
        st = self.st
        infos = [st.scopes.g.modules[p].info for p in paths]
        table = _Params([a for a, _ in infos[0].args], [dict(i.args) for i in infos],
                        tuple(st.scopes.entry_shape(p)[0] for p in paths))
        full = group.full
        have = [{e.path: e.expr for e in b.entries} for b in bodies]
        exprs, optional = {}, {}
        layers = set()  # optional entries whose instances use different activations: `activation_layer=None`
        for entry in full.entries:  # flags first, so a constructor argument with the same values uses them
            idx = [i for i, h in enumerate(have) if entry.path in h]
            if len(idx) < len(paths):
                fns = {have[i][entry.path].fn for i in idx if isinstance(have[i][entry.path], Call)}
                if len(fns) > 1 and fns <= ACTIVATION_LAYERS:
                    layers.add(entry.path)
                else:
                    optional[entry.path] = table.flag(entry.path, tuple(i in idx for i in range(len(paths))),
                                                      entry.expr)
        for entry in full.entries:
            idx = [i for i, h in enumerate(have) if entry.path in h]
            present = tuple(i in idx for i in range(len(paths)))
            found = None
            if entry.path in have[0] and _items(entry.expr) is not None and \
                    len({len(have[i][entry.path].args) for i in idx}) > 1:  # some items left out here and there
                found = _layers(entry.path, entry.expr, [have[i][entry.path] for i in idx], idx, st.signatures,
                                table)
                if found is None:
                    return None
            elif entry.expr is not None:
                found = template([have[i][entry.path] for i in idx], st.signatures,
                                 lambda slot, values, e=entry.path, idx=idx: table.choose(e, slot, values, idx))
                if found is None:
                    return None
            exprs[entry.path] = found
            if entry.path in layers:
                layer = table.used[found.fn]
                layer.values = tuple(v if here else None for v, here in zip(layer.values, present))
                optional[entry.path] = f"{layer.name} is not None"
                table.frozen.add(layer.name)
        zeros = [b.zero for b in bodies]
        zero = next((z for z in zeros if z), ())
        zero_flag = None if len(set(zeros)) == 1 else table.flag("ends_residual_branch", tuple(map(bool, zeros)))
        params = table.finish()
        st.signatures.generated[cls] = ([p.name for p in params if not p.has_default],
                                        {p.name: p.default for p in params if p.has_default})
        base = "nn.Sequential" if st.chain(full) and not optional else \
            "Group" if any(not _attribute(e.path.split(".")[0]) for e in full.entries) else "nn.Module"
        cdef = ClassDef(cls, name, base, params, full, exprs, optional, group.fallbacks, _comments(st, bodies),
                        len(paths), zero, zero_flag)
        for i, path in enumerate(paths):
            args = tuple(Lit(p.values[i]) for p in params if not p.has_default)
            kwargs = tuple((p.name, Lit(p.values[i])) for p in params
                           if p.has_default and not _same(p.values[i], p.default))
            self.calls[path] = Call(cls, args, kwargs)
        return cdef


def _attribute(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _comments(st, bodies) -> dict[str, str]:
    shapes: dict[str, set] = {}
    for body in bodies:
        for step in body.steps:
            shapes.setdefault(step.key, set()).add(tuple(st.scopes.shapes[step.out]))
    return {k: fmt(next(iter(v))) for k, v in shapes.items() if len(v) == 1}


# ---------------------------------------------------------------- merging instances


@dataclass
class _Group:
    full: Body
    variants: dict  # structure -> a body with it
    members: list[int]
    fallbacks: dict[str, str] = field(default_factory=dict)

    def join(self, i: int, body: Body) -> bool:
        key = body.structure()
        if key in self.variants:
            self.members.append(i)
            return True
        return self.absorb(_Group(body, {key: body}, [i]))

    def absorb(self, other: "_Group") -> bool:
        """Take in `other`'s instances, where one class can hold both groups' bodies."""
        variants = list(self.variants.values()) + list(other.variants.values())
        if len({v.zero for v in variants} - {()}) > 1:
            return False
        for full in (self.full, other.full):
            if all(v is full or _within(v, full) for v in variants):
                fallbacks = _fallbacks(full, variants)
                if fallbacks is not None:
                    self.full, self.fallbacks = full, fallbacks
                    self.variants.update(other.variants)
                    self.members += other.members
                    return True
        return False


def _subsequence(short, long) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def _within(part: Body, full: Body) -> bool:
    """`part` is `full` with some top-level modules (and their steps) left out."""
    entries, all_entries = [e.path for e in part.entries], [e.path for e in full.entries]
    exprs = {e.path: e.expr for e in full.entries}
    if any(e.path not in exprs or not _fits(e.expr, exprs[e.path]) for e in part.entries):
        return False
    if not _subsequence(entries, all_entries) or part.needs_dp != full.needs_dp or \
            part.zero and full.zero and part.zero != full.zero:
        return False
    missing = set(all_entries) - set(entries)
    if any("." in m or dict((e.path, e.expr) for e in full.entries)[m] is None for m in missing):
        return False
    keys, all_keys = [s.key for s in part.steps], [s.key for s in full.steps]
    if not _subsequence(keys, all_keys):
        return False
    gone = [s for s in full.steps if s.key not in set(keys)]
    return {s.callee for s in gone} == missing and len(gone) == len(missing)


def _items(expr) -> tuple | None:
    """The items of an `nn.Sequential(a, b, ...)`, else None."""
    return expr.args if isinstance(expr, Call) and expr.fn == "nn.Sequential" and not expr.kwargs else None


def _fits(part, full) -> bool:
    """The same constructor, or an nn.Sequential of some of `full`'s items."""
    if skeleton(part) == skeleton(full):
        return True
    mine, theirs = _items(part), _items(full)
    return mine is not None and theirs is not None and _align(mine, theirs) is not None


def _align(items: tuple, full: tuple) -> list[int] | None:
    """The position in `full` of each of `items` (in order, same constructors), matching the most keywords."""
    def score(a, b):
        if skeleton(a) != skeleton(b):
            return None
        keys = {k for k, _ in a.kwargs} if isinstance(a, Call) else set()
        theirs = {k for k, _ in b.kwargs} if isinstance(b, Call) else set()
        return 1 + len(keys & theirs) + (keys == theirs)

    best: dict[tuple, tuple] = {(0, j): (0, ()) for j in range(len(full) + 1)}
    for i in range(1, len(items) + 1):
        for j in range(i, len(full) + 1):
            options = []
            if (i, j - 1) in best:
                options.append(best[i, j - 1])
            here = score(items[i - 1], full[j - 1])
            if here is not None and (i - 1, j - 1) in best:
                total, path = best[i - 1, j - 1]
                options.append((total + here, path + (j - 1,)))
            if options:
                best[i, j] = max(options, key=lambda o: o[0])
    found = best.get((len(items), len(full)))
    return list(found[1]) if found is not None else None


def _layers(path: str, full: Call, exprs: list[Call], idx: list[int], signatures, table) -> Layers | None:
    """An nn.Sequential whose instances leave out some items: each item under a flag where they do."""
    alignments = [_align(e.args, full.args) for e in exprs]
    if any(a is None for a in alignments):
        return None
    items = []
    for j, item in enumerate(full.args):
        have = [(i, e.args[a.index(j)]) for i, e, a in zip(idx, exprs, alignments) if j in a]
        before = set(table.used)
        found = template([x for _, x in have], signatures,
                         lambda slot, values, here=[i for i, _ in have]: table.choose(path, slot, values, here, True))
        if found is None:
            return None
        present = tuple(i in {i for i, _ in have} for i in range(table.n))
        own = [p for name, p in table.used.items() if name not in before]  # made for this item
        flag = None if all(present) else table.flag(f"use_{_snake(item.fn) if isinstance(item, Call) else j}",
                                                    present, prefer_argument=True, own=own)
        items.append((found, flag))
    return Layers(tuple(items))


def _snake(fn: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", fn.rpartition(".")[2]).lower()


def _fallbacks(full: Body, variants: list[Body]) -> dict[str, str] | None:
    """For each module some instance lacks, the input it passes on there; None if no choice fits all."""
    steps = {s.key: s for s in full.steps}
    optional = [s for s in full.steps if any(s.key not in {t.key for t in v.steps} for v in variants)]
    choice: dict[str, str] = {}
    for step in optional:
        for candidate in dict.fromkeys(step.inputs):
            choice[step.key] = candidate
            if all(_consistent(full, steps, v, choice, partial=True) for v in variants):
                break
        else:
            return None
    return choice if all(_consistent(full, steps, v, choice) for v in variants) else None


def _consistent(full: Body, steps, variant: Body, choice, partial: bool = False) -> bool:
    present = {s.key for s in variant.steps}

    def resolve(key):
        while key != "x" and key not in present:
            if key not in choice:
                return None
            key = choice[key]
        return key

    for step in variant.steps:
        wanted = tuple(resolve(k) for k in steps[step.key].inputs)
        if None in wanted:
            if partial:
                continue
            return False
        if wanted != step.inputs:
            return False
    exit_key = resolve(full.exit)
    return (exit_key is None and partial) or exit_key == variant.exit


# ---------------------------------------------------------------- parameters


class _Params:
    """The constructor parameters of one class, found from the values each slot takes."""

    def __init__(self, arg_names, args: list[dict], in_channels: tuple):
        self.n = len(args)
        self.candidates = [(_safe(a), tuple(_plain(d.get(a)) for d in args)) for a in arg_names]
        self.in_channels = in_channels
        self.used: dict[str, Param] = {}
        self.order: list[str] = []
        self.frozen: set[str] = set()  # parameters whose None means "this instance lacks the module"

    def _use(self, name: str, values: tuple) -> Slot:
        if name not in self.used:
            self.used[name] = Param(name, values)
        return Slot(name)

    def choose(self, entry: str, slot: str, values: tuple, idx: list[int], plain: bool = False):
        last = slot.rpartition(".")[2]
        values = tuple(_plain(v) for v in values)
        if len(set(map(repr, values))) == 1:
            v = values[0]
            if type(v) is int and v >= 2 and last not in _GEOMETRY:
                named = [n for n, vec in self.candidates if len(set(vec)) == 1 and vec[0] == v and type(vec[0]) is int]
                if len(named) == 1:
                    return self._use(named[0], dict(self.candidates)[named[0]])
            return Lit(values[0])
        if all(type(v) is bool for v in values):  # a flag with these values already
            for param in self.used.values():
                if tuple(param.values[i] for i in idx) == values and len(param.values) == self.n:
                    return Slot(param.name)
        pool = [("in_channels", self.in_channels)] + self.candidates
        for name, vec in pool[1:] + pool[:1]:
            if tuple(vec[i] for i in idx) == values:
                return self._use(name, vec)
        if all(type(v) is int for v in values):
            for name, vec in pool:
                sub = tuple(vec[i] for i in idx)
                found = _arithmetic(name, sub, values)
                if found is not None:
                    self._use(name, vec)
                    return Slot(found)
            if last == "padding":  # "same" padding of a dilated kernel, as torchvision's Conv2dNormActivation
                for (kernel, ks), (dilation, ds) in itertools.permutations(pool, 2):
                    if all(type(k) is int and type(d) is int and v == (k - 1) // 2 * d
                           for k, d, v in zip((ks[i] for i in idx), (ds[i] for i in idx), values)):
                        self._use(kernel, ks)
                        self._use(dilation, ds)
                        return Slot(f"({kernel} - 1) // 2 * {dilation}")
        full = list(values)
        if len(idx) < self.n:  # an optional module: the other instances' values do not matter
            by = dict(zip(idx, values))
            full = [by.get(i) for i in range(self.n)]  # None: a keyword, left out where unused
        layer = last == ACTIVATION_ARGUMENT
        for param in self.used.values():
            if not (param.name.startswith(_safe(entry.replace(".", "_"))) or layer and param.name == last):
                continue
            if param.name in self.frozen and any(a is None and b is not None for a, b in zip(param.values, full)):
                continue  # its None says a module is absent
            if all(a is None or b is None or repr(a) == repr(b) for a, b in zip(param.values, full)):
                # the same values where both are used: one parameter
                param.values = tuple(b if a is None else a for a, b in zip(param.values, full))
                return Slot(param.name)
        plain = (plain or layer or not _attribute_like(entry)) and last not in self.used and \
            last not in dict(self.candidates)
        name = _safe(last if plain else f"{entry}_{last}".replace(".", "_"))
        while name in self.used or name in dict(self.candidates):
            name += "_"
        return self._use(name, tuple(full))

    def flag(self, entry: str, present: tuple, expr: Expr | None = None, prefer_argument: bool = False,
             own: list[Param] = ()) -> str:
        for param in self.used.values():
            if param.values == present and param.has_default and param.default is False:
                return param.name
        for param in own:  # an argument only this module takes: `if squeeze is not None:`
            if tuple(v is not None for v in param.values) == present and not isinstance(param.values[present.index(True)], Source):
                self.frozen.add(param.name)
                return f"{param.name} is not None"
        for name, values in self.candidates if prefer_argument else ():  # a template argument that says it
            if name not in self.used and all(type(v) is bool for v in values) and values == present:
                self.used[name] = Param(name, present, False, True)
                return name
        pool = [("in_channels", self.in_channels)] + self.candidates
        for (a, xs), (b, ys) in itertools.combinations(pool if prefer_argument else (), 2):
            if all(type(x) is int and type(y) is int for x, y in zip(xs, ys)) and \
                    tuple(x != y for x, y in zip(xs, ys)) == present:  # torchvision's `if expanded != in_channels`
                self._use(a, xs)
                self._use(b, ys)
                return f"{a} != {b}"
        fn = expr.fn.rpartition(".")[2].lower() if isinstance(expr, Call) else ""
        name = _safe(entry if _attribute_like(entry) or not fn else fn)
        while name in self.used or name in dict(self.candidates):
            name = "use_" + name
        self.used[name] = Param(name, present, False, True)
        return name

    def finish(self) -> list[Param]:
        order = ["in_channels"] + [n for n, _ in self.candidates]
        ranked = sorted(self.used.values(), key=lambda p: order.index(p.name) if p.name in order else len(order))
        for p in ranked:
            if p.has_default:
                continue
            if all(isinstance(v, Source) or v is None for v in p.values) or None in p.values:  # keyword,
                # None where an instance does not use it (a class argument, one for a module some lack)
                p.default, p.has_default = None, True
                continue
            common, _ = Counter(map(repr, p.values)).most_common(1)[0]
            value = next(v for v in p.values if repr(v) == common)
            if any(_same(value, d) for d in _DEFAULTS):
                p.default, p.has_default = value, True
        return [p for p in ranked if not p.has_default] + [p for p in ranked if p.has_default]


def _attribute_like(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][\w.]*", name) is not None


def _arithmetic(name: str, base: tuple, values: tuple) -> str | None:
    if not all(type(b) is int for b in base):
        return None
    if all(v == (b - 1) // 2 for b, v in zip(base, values)):
        return f"({name} - 1) // 2"  # "same" padding of an odd kernel
    if all(b != 0 and v % b == 0 for b, v in zip(base, values)):
        k = {v // b for b, v in zip(base, values)}
        if len(k) == 1 and next(iter(k)) >= 2:
            return f"{name} * {next(iter(k))}"
    if all(v != 0 and b % v == 0 for b, v in zip(base, values)):
        k = {b // v for b, v in zip(base, values)}
        if len(k) == 1 and next(iter(k)) >= 2:
            return f"{name} // {next(iter(k))}"
    d = {v - b for b, v in zip(base, values)}
    if len(d) == 1:
        d = next(iter(d))
        return f"{name} + {d}" if d > 0 else f"{name} - {-d}"
    return None


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


def _safe(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    if not name or name[0].isdigit():
        name = "p" + name
    return name + "_" if keyword.iskeyword(name) or name in ("self", "x", "super") else name
