"""Random, mostly well-formed specs, in the .arch or the YAML form.

    text = generate(random.Random(3), fmt="yaml")

The generator builds a small model of a spec (params, lets, an input, block
templates, a network body of layers, block calls, structures, loops and
conditionals) while tracking the feature map's shape, so most specs are
accepted; every number it writes may come out as an expression that
evaluates to it (`depth // 2 + 1`, `[8, 16][1]`, `if 3 < width then 8 else 4`).
With probability `MISTAKE_RATE` it plants one mistake a user could make (an
unknown layer, a misspelt argument, a shape that does not fit, ...), so the
refusals of the later stages are exercised too, not only the parser's.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

MISTAKE_RATE = 0.3


# ---------------------------------------------------------------- the spec model


@dataclass
class Call:
    text: str  # a layer or block call in .arch syntax: "conv(8, 3, padding=1)"


@dataclass
class Struct:
    kind: str  # residual, parallel, dense, stage, fractal, multi_residual, poly, spatial_transformer
    args: list[tuple[str, str]]  # (name, expression text)
    body: list["Item"]
    shortcut: list["Item"] | None = None


@dataclass
class Seq:
    body: list["Item"]


@dataclass
class For:
    var: str
    iterable: str
    body: list["Item"]


@dataclass
class If:
    cond: str
    then: list["Item"]
    other: list["Item"] | None


@dataclass
class Item:
    unit: object  # Call, Struct, Seq, For or If
    name: str | None = None  # a plain name, or a quoted template '"l{i}"'
    repeat: str | None = None
    shared: bool = False


@dataclass
class Block:
    name: str
    formals: list[tuple[str, str | None]]  # (name, default expression or None)
    body: list[Item]
    kind: str  # how a call changes the shape: "unit" (channels, stride), "keep", "growth"


@dataclass
class Spec:
    name: str
    params: list[tuple[str, str]]
    lets: list[tuple[str, str]]
    input: tuple[int, ...]
    blocks: list[Block]
    network: list[Item]


@dataclass
class Shape:
    """The feature map between items: channels and side, or flat features (side 0)."""

    c: int
    side: int

    @property
    def flat(self) -> bool:
        return self.side == 0


# ---------------------------------------------------------------- the generator


@dataclass
class Generator:
    rng: random.Random
    env: dict = field(default_factory=dict)  # name -> int value of params and lets
    blocks: list[Block] = field(default_factory=list)
    mistake_left: bool = False
    _names: int = 0

    # -- numbers and conditions as expressions ---------------------------------
    def num(self, v: int, depth: int = 0) -> str:
        """An expression whose value is the integer v."""
        r = self.rng
        if depth >= 2 or r.random() < 0.5:
            return str(v)
        same = [k for k, val in self.env.items() if val == v]
        forms = [
            lambda: r.choice(same) if same else str(v),
            lambda: self._offset(v, depth),
            lambda: f"{self.num(v * (k := r.randint(2, 4)), depth + 1)} // {k}",
            lambda: f"max({self.num(v, depth + 1)}, {v - r.randint(0, 3)})",
            lambda: f"min({v + r.randint(0, 3)}, {self.num(v, depth + 1)})",
            lambda: f"abs({-v})",
            lambda: r.choice([f"int({v}.0)", f"round({v}.25)", f"floor({v}.5)", f"ceil({v - 1}.5)"]),
            lambda: f"(if {self.cond(True, depth + 1)} then {self.num(v, depth + 1)} else {r.randint(0, 9)})",
            lambda: f"[{r.randint(0, 9)}, {self.num(v, depth + 1)}][{r.choice(['1', '-1'])}]",
            lambda: f"{{{v}: {self.num(v, depth + 1)}, {v + 1}: 0}}[{v}]",
            lambda: f"len(range({v}))" if 0 <= v <= 1000 else str(v),
            lambda: f"sum([{(a := r.randint(0, max(0, v)))}, {v - a}])",
        ]
        return r.choice(forms)()

    def _offset(self, v: int, depth: int) -> str:
        if not self.env:
            return str(v)
        name, val = self.rng.choice(sorted(self.env.items()))
        d = v - val
        return f"{name} + {self.num(d, depth + 1)}" if d >= 0 else f"{name} - {self.num(-d, depth + 1)}"

    def cond(self, truth: bool, depth: int = 0) -> str:
        """An expression whose value is the boolean `truth`."""
        r = self.rng
        if depth >= 2 or r.random() < 0.3:
            return "true" if truth else "false"
        a = r.randint(0, 20)
        forms = [
            lambda: f"{self.num(a, depth + 1)} {'<' if truth else '>='} {a + 1}",
            lambda: f"{a} {'==' if truth else '!='} {self.num(a, depth + 1)}",
            lambda: f"not {self.cond(not truth, depth + 1)}",
            lambda: f"{self.cond(truth, depth + 1)} and {self.cond(True, depth + 1)}",
            lambda: f"{self.cond(truth, depth + 1)} or {self.cond(False, depth + 1)}",
            lambda: f"{a} <= {a + 1} {'<' if truth else '>'} {a + 2}",
        ]
        return r.choice(forms)()

    def fresh(self, stem: str) -> str:
        self._names += 1
        return f"{stem}{self._names}"

    # -- the spec ---------------------------------------------------------------
    def spec(self) -> Spec:
        r = self.rng
        params = []
        for name in r.sample(["width", "depth", "growth", "classes", "k", "n"], r.randint(1, 4)):
            value = {"width": r.choice([4, 8, 16]), "depth": r.randint(1, 4), "growth": r.choice([2, 4]),
                     "classes": r.choice([2, 10]), "k": r.randint(1, 3), "n": r.randint(1, 3)}[name]
            params.append((name, self.num(value)))
            self.env[name] = value
        lets = []
        for i in range(r.randint(0, 3)):
            value = r.randint(1, 6)
            name = f"v{i}"
            lets.append((name, self.num(value)))
            self.env[name] = value
        side = r.choice([4, 8, 8, 16, 32])
        channels = r.choice([1, 3, 3, 4])
        self.blocks = [self.block(kind) for kind in r.sample(["unit", "residual", "bottleneck", "keep", "growth"],
                                                             r.randint(0, 4))]
        shape = Shape(channels, side)
        network = self.body(shape, r.randint(2, 10), depth=0)
        network += self.head(shape)
        return Spec(self.fresh("net"), params, lets, (channels, side, side), self.blocks, network)

    def block(self, kind: str) -> Block:
        r = self.rng
        name = self.fresh({"unit": "unit", "residual": "basic", "bottleneck": "bottleneck", "keep": "keep",
                           "growth": "dense_layer"}[kind])
        conv = lambda out, stride="1": Call(f"conv({out}, 3, stride={stride}, padding=1, bias=false)")  # noqa: E731
        if kind == "unit":
            return Block(name, [("c", None), ("stride", "1")], [Item(conv("c", "stride")), Item(Call("bn")),
                                                                 Item(Call("relu"))], "unit")
        if kind == "residual":
            shortcut = r.choice(["auto", "projection", "zeropad"])
            branch = [Item(conv("planes", "stride"), "conv1"), Item(Call("bn"), "bn1"), Item(Call("relu")),
                      Item(conv("planes"), "conv2"), Item(Call("bn"), "bn2")]
            return Block(name, [("planes", None), ("stride", "1")],
                         [Item(Struct("residual", [("shortcut", shortcut), ("after", "relu")], branch))], "unit")
        if kind == "bottleneck":
            branch = [Item(Call("conv(width, 1, bias=false)")), Item(Call("bn")), Item(Call("relu")),
                      Item(conv("width", "stride")), Item(Call("bn")), Item(Call("relu")),
                      Item(Call("conv(planes, 1, bias=false)")), Item(Call("bn"))]
            return Block(name, [("planes", None), ("stride", "1"), ("width", "max(1, planes // 4)")],
                         [Item(Struct("residual", [], branch))], "unit")
        if kind == "keep":
            return Block(name, [], [Item(Call("conv(in_channels, 3, padding=1)")), Item(Call("relu"))], "keep")
        return Block(name, [("g", None)], [Item(Call("bn")), Item(Call("relu")),
                                           Item(Call("conv(g, 3, padding=1, bias=false)"))], "growth")

    def head(self, shape: Shape) -> list[Item]:
        """The classifier: global pooling, flatten, linear."""
        items = []
        if not shape.flat:
            items += [Item(Call(self.rng.choice(["gap", "adaptive_avgpool(1)"])), "pool"), Item(Call("flatten"))]
        classes = self.env.get("classes", 10)
        items.append(Item(Call(f"linear({'classes' if 'classes' in self.env else classes})"), "fc"))
        shape.c, shape.side = classes, 0
        return items

    # -- bodies -------------------------------------------------------------------
    def body(self, shape: Shape, count: int, depth: int) -> list[Item]:
        items, names = [], set()
        for _ in range(count):
            item = self.item(shape, depth)
            if item.name and not item.name.startswith('"'):
                if item.name in names:
                    item.name = None
                names.add(item.name)
            items.append(item)
        return items

    def item(self, shape: Shape, depth: int) -> Item:
        r = self.rng
        if self.mistake_left and r.random() < 0.15:
            self.mistake_left = False
            return self.mistake(shape)
        kinds = ["layer"] * 6 + ["block"] * 2 + ["repeat"] * 2
        if depth < 3:
            kinds += ["residual", "parallel", "dense", "stage", "fractal", "multi_residual", "poly", "for", "if",
                      "sequence", "spatial_transformer"]
        make = getattr(self, "make_" + r.choice(kinds))
        item = make(shape, depth)
        if item.name is None and not isinstance(item.unit, (For, If)) and r.random() < 0.4:
            item.name = self.fresh(r.choice(["conv", "layer", "b", "m"]))
        return item

    def make_layer(self, shape: Shape, depth: int) -> Item:
        r = self.rng
        if shape.flat:
            choice = r.choice(["linear", "relu", "dropout", "identity"])
            if choice == "linear":
                shape.c = r.choice([4, 8, 16])
                return Item(Call(f"linear({self.num(shape.c)})"))
            return Item(Call({"relu": "relu", "dropout": "dropout(0.25)", "identity": "identity"}[choice]))
        options = ["conv", "conv", "bn", "relu", "act", "dwconv", "dropout", "identity"]
        if shape.side % 2 == 0 and shape.side >= 2:
            options += ["pool", "strided"]
        choice = r.choice(options)
        if choice == "conv":
            shape.c = r.choice([2, 4, 8, 16])
            k = r.choice([1, 3, 5]) if shape.side >= 5 else 1
            return Item(Call(f"conv({self.num(shape.c)}, {k}, padding={self.num(k // 2)})"))
        if choice == "strided":
            shape.side //= 2
            return Item(Call(f"conv({shape.c}, 3, stride=2, padding=1)"))
        if choice == "pool":
            shape.side //= 2
            return Item(Call(r.choice(["maxpool(2)", "avgpool(2)", "maxpool(2, stride=2)", "avgpool(kernel=2)"])))
        return Item(Call({"bn": r.choice(["bn", "bn(eps=0.001)", "bn(momentum=0.2, affine=false)"]),
                          "relu": "relu", "act": r.choice(["sigmoid", "tanh", "elu(0.5)", "leaky_relu(0.2)", "prelu",
                                                           "prelu(per_channel=true)"]),
                          "dwconv": "dwconv(3, padding=1)", "dropout": "dropout(0.1)", "identity": "identity"}[choice]))

    def make_block(self, shape: Shape, depth: int) -> Item:
        usable = [b for b in self.blocks if not shape.flat]
        if not usable:
            return self.make_layer(shape, depth)
        b = self.rng.choice(usable)
        if b.kind == "keep":
            return Item(Call(b.name))
        if b.kind == "growth":
            shape.c = self.rng.choice([2, 4])
            return Item(Call(f"{b.name}({self.num(shape.c)})"))
        planes = self.rng.choice([shape.c, shape.c, 8, 16])
        if b.formals[1:] and shape.side % 2 == 0 and shape.side >= 2 and self.rng.random() < 0.3:
            shape.c, shape.side = planes, shape.side // 2
            return Item(Call(f"{b.name}({self.num(planes)}, stride={self.num(2)})"))
        shape.c = planes
        return Item(Call(f"{b.name}({self.num(planes)})"))

    def make_repeat(self, shape: Shape, depth: int) -> Item:
        """A shape-keeping unit repeated: `relu x 2`, `block(c) x n`, optionally shared."""
        r = self.rng
        count_value = r.randint(1, 3)
        count = r.choice([k for k, v in self.env.items() if v == count_value] or [self.num(count_value)])
        keeps = [b for b in self.blocks if b.kind in ("unit", "keep")]
        if keeps and not shape.flat and r.random() < 0.5:
            b = r.choice(keeps)
            call = b.name if b.kind == "keep" else f"{b.name}({shape.c})"
            return Item(Call(call), repeat=count, shared=r.random() < 0.2)
        if shape.flat:
            return Item(Call("relu"), repeat=count)
        layer = r.choice(["relu", "bn", f"conv({shape.c}, 3, padding=1)", "identity"])
        return Item(Call(layer), repeat=count, shared=layer.startswith("conv") and r.random() < 0.3)

    def keeping_body(self, shape: Shape, depth: int, count: int | None = None) -> list[Item]:
        """Items that end with the shape they started from (a residual branch, a poly unit)."""
        inner = Shape(shape.c, shape.side)
        items = self.body(inner, count or self.rng.randint(1, 3), depth + 1)
        if inner.flat != shape.flat or inner.side != shape.side:
            return [Item(Call(f"conv({shape.c}, 3, padding=1)"))] if not shape.flat else [Item(Call("relu"))]
        if inner.c != shape.c:
            items.append(Item(Call(f"conv({shape.c}, 1)" if not shape.flat else f"linear({shape.c})")))
        return items

    def make_residual(self, shape: Shape, depth: int) -> Item:
        r = self.rng
        args = []
        if r.random() < 0.7:
            args.append(("shortcut", r.choice(["auto", "identity", "projection", "zeropad", "none"])))
        if r.random() < 0.4:
            args.append(("after", r.choice(["relu", "none", "bn_relu"])))
        if r.random() < 0.2:
            args.append(("scale", r.choice(["0.5", "0.17", "1.0"])))
        if r.random() < 0.15:
            args.append(("survival", "0.8"))
        if shape.flat:
            return Item(Struct("residual", args, [Item(Call(f"linear({shape.c})"))]))
        shortcut = None
        if r.random() < 0.15:
            shortcut, args = [Item(Call(f"conv({shape.c}, 1)"))] if r.random() < 0.5 else [], []
        return Item(Struct("residual", args, self.keeping_body(shape, depth), shortcut))

    def make_parallel(self, shape: Shape, depth: int) -> Item:
        r = self.rng
        if shape.flat:
            return self.make_layer(shape, depth)
        merge = r.choice(["concat", "concat", "add", "mean", "max"])
        width = r.choice([2, 4, 8])
        branches, total = [], 0
        for _ in range(r.randint(1, 3)):
            inner = Shape(shape.c, shape.side)
            body = self.body(inner, r.randint(1, 2), depth + 1) if r.random() < 0.5 else []
            if inner.side != shape.side or inner.flat:
                body = []
            body.append(Item(Call(f"conv({width}, 1)")))
            branches.append(Item(Seq(body)) if len(body) > 1 else body[0])
            total += width
        shape.c = total if merge == "concat" else width
        args = [("merge", merge)] if merge != "concat" or r.random() < 0.5 else []
        return Item(Struct("parallel", args, branches))

    def make_dense(self, shape: Shape, depth: int) -> Item:
        if shape.flat:
            return self.make_layer(shape, depth)
        growth = self.env.get("growth", 2)
        layers = self.rng.randint(1, 4)
        grow = [b for b in self.blocks if b.kind == "growth"]
        call = f"{grow[0].name}({'growth' if 'growth' in self.env else growth})" if grow else \
            f"conv({growth}, 3, padding=1)"
        shape.c += growth * layers
        if self.rng.random() < 0.5:
            body = [Item(Call(call), repeat=self.num(layers))]
        else:
            template = f'"{self.fresh("dl")}_{{j + 1}}"'
            body = [Item(For("j", f"range({self.num(layers)})", [Item(Call(call), name=template)]))]
        return Item(Struct("dense", [], body))

    def make_stage(self, shape: Shape, depth: int) -> Item:
        strided = [b for b in self.blocks if b.kind == "unit"]
        if shape.flat or not strided:
            return Item(Struct("stage", [], self.keeping_body(shape, depth)))
        b = self.rng.choice(strided)
        stride = 2 if shape.side % 2 == 0 and shape.side >= 2 else 1
        planes = self.rng.choice([shape.c, 8, 16])
        shape.c, shape.side = planes, shape.side // stride
        count = self.rng.choice([k for k, v in self.env.items() if 1 <= v <= 3] or ["2"])
        return Item(Struct("stage", [("stride", self.num(stride))], [Item(Call(f"{b.name}({planes})"), repeat=count)]))

    def make_fractal(self, shape: Shape, depth: int) -> Item:
        r = self.rng
        if shape.flat:
            return self.make_layer(shape, depth)
        width = r.choice([2, 4, 8])
        shape.c = width
        args = [("columns", self.num(r.randint(1, 3))), ("join", r.choice(["mean", "sum", "max"]))]
        if r.random() < 0.3:
            args.append(("drop", r.choice(["none", "local", "global", "mix"])))
        base = [Item(Call(f"conv({width}, 3, padding=1)"), "conv"), Item(Call("bn"), "bn"), Item(Call("relu"), "relu")]
        return Item(Struct("fractal", args, base), name=self.fresh("fractal"))

    def make_multi_residual(self, shape: Shape, depth: int) -> Item:
        if shape.flat:
            return self.make_layer(shape, depth)
        branches = [Item(Seq(self.keeping_body(shape, depth)), self.fresh("f")) for _ in range(self.rng.randint(1, 3))]
        return Item(Struct("multi_residual", [("after", self.rng.choice(["relu", "none"]))], branches))

    def make_poly(self, shape: Shape, depth: int) -> Item:
        if shape.flat:
            return self.make_layer(shape, depth)
        unit = Seq(self.keeping_body(shape, depth))
        if self.rng.random() < 0.5:
            return Item(Struct("poly", [], [Item(unit, self.fresh("F"), repeat="2", shared=True)]))
        second = Item(Seq(self.keeping_body(shape, depth)), self.fresh("G"))
        return Item(Struct("poly", [], [Item(unit, self.fresh("F")), second]))

    def make_spatial_transformer(self, shape: Shape, depth: int) -> Item:
        if shape.flat or shape.side < 2:
            return self.make_layer(shape, depth)
        local = [Item(Call("flatten")), Item(Call(f"linear({self.rng.choice([4, 8])})"), "fc_loc"), Item(Call("relu"))]
        return Item(Struct("spatial_transformer", [], local), name=self.fresh("stn"))

    def make_for(self, shape: Shape, depth: int) -> Item:
        count = self.rng.randint(1, 3)
        var = self.rng.choice(["i", "j", "step"])
        stem = self.fresh("l")
        template = f'"{stem}_{{{var}}}"' if self.rng.random() < 0.5 else f'"{stem}_{{{var} + 1}}_x"'
        body = [Item(Call("relu" if shape.flat else f"conv({shape.c}, 3, padding=1)"), template)]
        return Item(For(var, f"range({self.num(count)})", body))

    def make_if(self, shape: Shape, depth: int) -> Item:
        truth = self.rng.random() < 0.5
        taken = Shape(shape.c, shape.side)
        then = self.body(taken if truth else Shape(shape.c, shape.side), self.rng.randint(1, 2), depth + 1)
        other = self.body(taken if not truth else Shape(shape.c, shape.side), self.rng.randint(0, 2), depth + 1)
        shape.c, shape.side = taken.c, taken.side
        return Item(If(self.cond(truth), then, other if other or self.rng.random() < 0.5 else None))

    def make_sequence(self, shape: Shape, depth: int) -> Item:
        return Item(Seq(self.body(shape, self.rng.randint(1, 3), depth + 1)), self.fresh("seq"))

    # -- mistakes -----------------------------------------------------------------
    def mistake(self, shape: Shape) -> Item:
        """One item a user could get wrong; most make the spec invalid."""
        return Item(Call(self.rng.choice([
            "convv(8, 3)", "conv(8, 3, strid=2)", "conv(8)", "conv(-4, 3)", "conv(8, 3, groups=3)",
            f"conv(8, {shape.side + 5})", "conv(\"8\", 3)", "conv(8.5, 3)",
            "linear(10)" if not shape.flat else "conv(4, 3)",
            "flatten linear(3) conv(4, 1)", "bn(eps=-1)", "maxpool(3, stride=2, ceil=2)", "dropout(1.5)",
            "relu(1)", "conv(undefined_width, 3)", "conv(width[0], 3)", "conv(1 / 0, 3)", "gap linear(2) gap",
            "unit(8, 2, 3, 4)", "bottleneck()", "avgpool(3)", "conv(8, 3, bias=1)", "conv(8, 3, padding=[1, 2, 3])",
            "adaptive_avgpool(0)", "zeropad(2)", "scale(\"x\")", "linear(classes, bias=\"no\")",
        ])), repeat=self.rng.choice([None, None, "0", "-1"]))


# ---------------------------------------------------------------- .arch rendering


def render_arch(spec: Spec, rng: random.Random) -> str:
    out = [f"# generated\narch {spec.name}"]
    out += [f"param {n} = {v}" for n, v in spec.params]
    out += [f"let {n} = {v}" for n, v in spec.lets]
    out.append("input " + ("x".join(map(str, spec.input)) if rng.random() < 0.8 else
                           "[" + ", ".join(map(str, spec.input)) + "]"))
    for b in spec.blocks:
        formals = ", ".join(n if d is None else f"{n}={d}" for n, d in b.formals)
        out.append(f"block {b.name}({formals}) " + _arch_body(b.body, 0, rng))
    out.append("network " + _arch_body(spec.network, 0, rng))
    return "\n".join(out) + "\n"


def _arch_body(items: list[Item], indent: int, rng: random.Random) -> str:
    if not items:
        return "{ }"
    parts = [_arch_item(i, indent + 1, rng) for i in items]
    if rng.random() < 0.3 and sum(map(len, parts)) < 100:
        return "{ " + "  ".join(parts) + " }"
    pad = "  " * (indent + 1)
    return "{\n" + "".join(pad + p + "\n" for p in parts) + "  " * indent + "}"


def _arch_item(item: Item, indent: int, rng: random.Random) -> str:
    text = (f"{item.name}: " if item.name else "") + _arch_unit(item.unit, indent, rng)
    if item.repeat is not None:
        text += f" x {item.repeat}" + (" shared" if item.shared else "")
    return text


def _arch_unit(unit, indent: int, rng: random.Random) -> str:
    if isinstance(unit, Call):
        return unit.text
    if isinstance(unit, Struct):
        args = "(" + ", ".join(f"{k}={v}" for k, v in unit.args) + ")" if unit.args else ""
        text = f"{unit.kind}{args} " + _arch_body(unit.body, indent, rng)
        return text + (" shortcut " + _arch_body(unit.shortcut, indent, rng) if unit.shortcut is not None else "")
    if isinstance(unit, Seq):
        return _arch_body(unit.body, indent, rng)
    if isinstance(unit, For):
        return f"for {unit.var} in {unit.iterable} " + _arch_body(unit.body, indent, rng)
    text = f"if {unit.cond} " + _arch_body(unit.then, indent, rng)
    return text + (" else " + _arch_body(unit.other, indent, rng) if unit.other is not None else "")


# ---------------------------------------------------------------- YAML rendering

_PLAIN_SAFE = re.compile(r"[A-Za-z_(][^:#\"'\[\]{},]*")


def _scalar(text: str, rng: random.Random) -> str:
    """`text` as a YAML scalar: plain where that reads back as the same string, else quoted."""
    if _PLAIN_SAFE.fullmatch(text) and not text.endswith(" ") and text not in ("true", "false", "null", "yes", "no") \
            and rng.random() < 0.6:
        return text
    if "'" not in text and rng.random() < 0.4:
        return "'" + text + "'"
    return json.dumps(text)


def render_yaml(spec: Spec, rng: random.Random) -> str:
    out = ["# generated", f"arch: {spec.name}"]
    if spec.params:
        out.append("params:")
        out += [f"  {n}: {_scalar(v, rng) if not v.isdigit() else v}" for n, v in spec.params]
    if spec.lets:
        out.append("let: {" + ", ".join(f"{n}: {_scalar(v, rng) if not v.isdigit() else v}"
                                        for n, v in spec.lets) + "}")
    out.append("input: " + ("x".join(map(str, spec.input)) if rng.random() < 0.7 else
                            "[" + ", ".join(map(str, spec.input)) + "]"))
    if spec.blocks:
        out.append("blocks:")
        for b in spec.blocks:
            args = ", ".join(n if d is None else f"{{{n}: {_scalar(d, rng)}}}" for n, d in b.formals)
            out += [f"  {b.name}:", f"    args: [{args}]", "    body:"] + _yaml_body(b.body, 3, rng)
    out.append("network:")
    out += _yaml_body(spec.network, 1, rng)
    return "\n".join(out) + "\n"


def _yaml_body(items: list[Item], indent: int, rng: random.Random) -> list[str]:
    pad = "  " * indent
    if not items:
        return [pad + "[]"]
    lines = []
    for item in items:
        first, *rest = _yaml_item(item, indent, rng)
        lines.append(pad + "- " + first)
        lines += rest
    return lines


def _yaml_item(item: Item, indent: int, rng: random.Random) -> list[str]:
    """The lines of one list item: the first follows "- ", the rest are indented under it."""
    unit, pad = item.unit, "  " * (indent + 1)
    if isinstance(unit, Call):
        if item.name and not item.name.startswith('"') and item.repeat is None and rng.random() < 0.5:
            return [f"{item.name}: {_scalar(unit.text, rng)}"]
        return [_scalar(_arch_item(item, 0, rng), rng)]
    fields: list[tuple[str, object]] = []
    if isinstance(unit, Struct):
        args = "null" if not unit.args else "{" + ", ".join(f"{k}: {_scalar(v, rng)}" for k, v in unit.args) + "}"
        fields += [(unit.kind, args), ("body", unit.body)]
        if unit.shortcut is not None:
            fields.append(("shortcut_body", unit.shortcut))
    elif isinstance(unit, Seq):
        fields.append(("body", unit.body))
    elif isinstance(unit, For):
        fields += [("for", _scalar(f"{unit.var} in {unit.iterable}", rng)), ("body", unit.body)]
    else:
        fields += [("if", _scalar(unit.cond, rng)), ("then", unit.then)]
        if unit.other is not None:
            fields.append(("else", unit.other))
    if item.repeat is not None:
        fields.append(("repeat", _scalar(item.repeat, rng) if not item.repeat.isdigit() else item.repeat))
        if item.shared:
            fields.append(("shared", "true"))
    if item.name and not item.name.startswith('"'):
        return [f"{item.name}:"] + _yaml_fields(fields, indent + 2, rng)
    lines = _yaml_fields(fields, indent + 1, rng)
    return [lines[0].lstrip()] + lines[1:]


def _yaml_fields(fields, indent: int, rng: random.Random) -> list[str]:
    pad = "  " * indent
    lines = []
    for key, value in fields:
        if isinstance(value, list):
            lines.append(f"{pad}{key}:")
            lines += _yaml_body(value, indent + 1, rng)
        else:
            lines.append(f"{pad}{key}: {value}")
    return lines


# ---------------------------------------------------------------- entry point


def generate(rng: random.Random, fmt: str = "arch", mistakes: bool = True) -> str:
    """A random spec in `fmt` ("arch" or "yaml"); with `mistakes`, sometimes one planted mistake."""
    gen = Generator(rng)
    gen.mistake_left = mistakes and rng.random() < MISTAKE_RATE
    spec = gen.spec()
    return render_arch(spec, rng) if fmt == "arch" else render_yaml(spec, rng)
