"""IR -> the Python source of an nn.Module class (straight-line forward).

    resnet18.arch  ->  class Resnet18(Group):
                           def __init__(self, zero_init_residual=False):
                               super().__init__()
                               self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
                               ...
                           def forward(self, x):
                               x = self.conv1(x)  # 64x112x112
                               ...
                               x1 = self.layer1[0].conv1(x)  # 64x56x56

Every IR node but the input becomes a module at its qualified name; the
containers between are `Group`s. Children are registered so that `state_dict`
has exactly `passes.state_layout`'s names and order. The forward reuses a few
local variables (a value's variable is recycled once its last user has run),
so eval mode does not keep every activation alive. Identifiers come only from
validated node names; numbers from op attributes; the docstring's text is
escaped.

With `fold_bn`, the graph is first rewritten by transforms.fold_bn (one
plan for both backends): each folded BN disappears, its conv gets a bias, and
`BN_FOLDS` records the pair for `fold_batchnorm`.
"""
from __future__ import annotations

import functools
import inspect
import keyword
import re
from dataclasses import dataclass, field

from archdsl.errors import ArchError
from archdsl.ir import Graph, Role
from archdsl.ops import fmt
from archdsl.transforms import fold_bn as fold_graph
from archdsl.version import __version__

from . import layers as torch_layers
from .lowering import EmitContext, emit, lit

_ALWAYS = ("Group", "init_like_torchvision")


@dataclass
class ModuleTree:
    """Container name -> children (local names) in registration order, and each node's constructor."""

    children: dict[str, list[str]] = field(default_factory=lambda: {"": []})
    ctor: dict[str, str] = field(default_factory=dict)  # qualified node name -> constructor source


@dataclass(frozen=True)
class Lowered:
    """What the class needs, before it is printed."""

    class_name: str
    tree: ModuleTree
    forward: list[str]  # body lines of forward()
    uses: tuple[str, ...]  # torch_layers definitions, in file order
    zero_init: tuple[str, ...]  # last BN of each residual branch
    folds: tuple[tuple[str, str, float], ...]  # (conv, bn, eps), fold_bn only
    drop_path_groups: dict[str, int]  # global drop-path group -> its number of columns


# ---------------------------------------------------------------- names


def class_name(arch_name: str) -> str:
    """"wide_resnet50_2" -> "WideResnet50_2"; always a valid identifier."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", arch_name) if p]
    out = ""
    for p in parts:
        if out and p[0].isdigit():
            out += "_"
        out += p[0].upper() + p[1:]
    if not out or not out[0].isalpha():
        out = "Net" + out
    return out


# Members of the generated class besides nn.Module's; a top-level layer may not take these names.
CLASS_MEMBERS = {"SPEC", "INPUT_SHAPE", "INPUT_SHAPES", "OUTPUT_SHAPE", "OUTPUT_SHAPES", "ZERO_INIT_RESIDUAL_BNS", "BN_FOLDS", "DROP_PATH_GROUPS",
                 "from_unfolded_state_dict"}
_RESERVED: set[str] = set()


def _reserved() -> set[str]:
    """Attribute names of an nn.Module instance: a child with one of these names would break it."""
    if not _RESERVED:
        _RESERVED.update(dir(torch_layers.Group()))
    return _RESERVED


def attribute_path(qualified: str) -> str:
    """`layer1.0.conv1` -> `self.layer1[0].conv1` (keywords as `["if"]`)."""
    out = "self"
    for part in qualified.split("."):
        if part.isdigit() and str(int(part)) == part:
            out += f"[{int(part)}]"
        elif keyword.iskeyword(part) or not part.isidentifier() or part.startswith("__"):  # "__w": no name mangling
            out += f"[{part!r}]"
        else:
            out += f".{part}"
    return out


def _check_names(node):
    parts = node.name.split(".")
    for i, part in enumerate(parts):
        if part in _reserved() or (i == 0 and part in CLASS_MEMBERS):
            raise ArchError(
                f"the name '{part}' (in {node.name}) is an attribute of a torch module; "
                "the torch backend needs another name for this layer",
                node.span,
            )


def _owner(node) -> str | None:
    return node.shared_with


# ---------------------------------------------------------------- lowering


def lower(arch, fold_bn: bool = False) -> Lowered:
    g, shapes = arch.graph, arch.shapes
    folds = ()
    if fold_bn:
        g, folds = fold_graph(g)
    order = [nid for nid in g.order if not g.node(nid).op.traits.source]
    uses: dict[int, int] = {}
    for nid in order:
        for p in g.inputs(nid):
            uses[p] = uses.get(p, 0) + 1
    for nid in g.output_nodes().values():  # an output is a use: no in-place op may overwrite it
        uses[nid] = uses.get(nid, 0) + 1
    tree = ModuleTree()
    needed: set[str] = set(_ALWAYS) | ({"fold_batchnorm"} if folds else set())
    module_of: dict[int, str] = {}  # node -> the module it calls (a shared node: its owner's)
    drop_path: set[int] = set()
    scaled: set[int] = set()  # nodes that multiply by a parameter of their container (layer scale)
    groups: dict[str, int] = {}
    for nid in order:
        node = g.node(nid)
        if _owner(node):
            module_of[nid] = _owner(node)
            continue
        _check_names(node)
        ins = g.inputs(nid)
        first = ins[0] if ins else None
        inplace = node.op.traits.inplace and first is not None and uses.get(first) == 1 and _fresh(g, first, uses)
        out = emit(node.op, EmitContext(node, [shapes[p] for p in ins], shapes[nid], inplace))
        needed.update(out.uses)
        tree.ctor[node.name] = out.ctor
        module_of[nid] = node.name
        if out.parameter:
            scaled.add(nid)
        if out.drop_path:
            drop_path.add(nid)
            if node.op.drop in ("global", "mix"):
                groups[node.op.group] = node.op.num_columns
    if drop_path:
        needed.add("sample_drop_path")
    _build_tree(g, shapes, order, tree)
    return Lowered(
        class_name(arch.name),
        tree,
        _forward_lines(g, shapes, order, module_of, drop_path, scaled),
        tuple(name for name in vars(torch_layers) if name in needed),  # file order: bases first
        () if fold_bn else residual_branch_norms(g),
        tuple((f.conv, f.norm, f.eps) for f in folds),
        groups,
    )


def _fresh(g: Graph, nid, uses) -> bool:
    """Whether nid's output is a new tensor that backward does not need: an op that makes one, or an
    op that is the identity in eval (drop-path, dropout: in training a new tensor) of such an output."""
    while True:
        op = g.node(nid).op
        if op.traits.fresh_output:
            return True
        ins = g.inputs(nid)
        if not (op.traits.eval_identity and len(ins) == 1 and uses.get(ins[0]) == 1):
            return False
        nid = ins[0]


def _build_tree(g: Graph, shapes, order, tree: ModuleTree):
    """Place every module under its container so that state_dict order is state_layout's.

    A child is placed by the first node in it that has state (state_layout's
    rule); a child without state by its first node. Both keys are positions
    in the topological order, so the tree also reads in spec order.
    """
    key: dict[str, int] = {}
    stateful: set[str] = set()
    for pos, nid in enumerate(order):
        node = g.node(nid)
        if _owner(node):
            continue
        has_state = bool(node.op.state([shapes[p] for p in g.inputs(nid)]))
        name = node.name
        while name:
            if name not in key or (has_state and name not in stateful):
                key[name] = pos
            if has_state:
                stateful.add(name)
            name = name.rpartition(".")[0]
    for name in sorted(key, key=key.__getitem__):
        tree.children.setdefault(name.rpartition(".")[0], []).append(name)
    for name in key:
        if name not in tree.ctor:
            tree.children.setdefault(name, [])


def _forward_lines(g: Graph, shapes, order, module_of, drop_path, scaled=frozenset()) -> list[str]:
    """Straight-line forward with recycled local variables."""
    last_use: dict[int, int] = {}
    for pos, nid in enumerate(order):
        for p in g.inputs(nid):
            last_use[p] = pos
    outputs = set(g.output_nodes().values())
    slot: dict[int, int | str] = {g.input: 0, **{nid: var for nid, var in input_variables(g).items()}}
    free: list[int] = []
    count = 1
    lines = ["dp = sample_drop_path(self.DROP_PATH_GROUPS, self.training, x.device)"] if drop_path else []
    for pos, nid in enumerate(order):
        ins = g.inputs(nid)
        dying = [p for p in dict.fromkeys(ins) if last_use[p] == pos and p not in outputs]
        if dying and ins[0] in dying:
            target = slot[ins[0]]
        elif dying:
            target = slot[dying[0]]
        elif free:
            target = min(free)
            free.remove(target)
        else:
            target, count = count, count + 1
        for p in dying:
            if slot[p] != target and isinstance(slot[p], int):  # an input's own name is not recycled
                free.append(slot[p])
        slot[nid] = target
        args = ", ".join([_var(slot[p]) for p in ins] + (["drop_path=dp"] if nid in drop_path else []))
        if nid in scaled:
            value = f"{args} * {attribute_path(module_of[nid])}"
        else:
            value = f"{attribute_path(module_of[nid])}({args})"
        lines.append(f"{_var(target)} = {value}  # {fmt(shapes[nid])}")
    if g.outputs is None:
        lines.append(f"return {_var(slot[g.output])}")
    elif g.outputs_as_tuple:
        lines.append(f"return {', '.join(_var(slot[nid]) for nid in g.outputs.values())}")
    else:
        entries = ", ".join(f"{key!r}: {_var(slot[nid])}" for key, nid in g.outputs.items())
        lines.append(f"return {{{entries}}}")
    return lines


def _var(slot: int | str) -> str:
    if isinstance(slot, str):
        return slot
    return "x" if slot == 0 else f"x{slot}"


_TAKEN = re.compile(r"x\d*|dp|self|torch|nn|F|math|inputs?")


def input_variables(g: Graph) -> dict[int, str]:
    """The forward arguments after x: each further input's name (`input_<name>` where that would clash)."""
    return {nid: name if name.isidentifier() and not keyword.iskeyword(name) and not _TAKEN.fullmatch(name)
            else f"input_{name}" for name, nid in g.more_inputs.items()}


def residual_branch_norms(g: Graph) -> tuple[str, ...]:
    """The last norm of each residual branch, for zero_init_residual (torchvision's bn2 / bn3).

    From each branch end of each recorded residual unit, walk back through
    constant scalings (scale, dropout, stochastic depth); a foldable norm used
    by nothing else found there qualifies.
    """
    found = []
    for unit in g.units:
        body = set(unit.body)
        for end, role in zip(g.inputs(unit.join), g.roles(unit.join)):
            if role is not Role.BODY:
                continue
            nid, after = end, unit.join
            while nid in body and g.node(nid).op.traits.scales_input:
                nid, after = g.inputs(nid)[0], nid
            node = g.node(nid)
            if nid in body and node.op.traits.folds_into_conv and not _owner(node) and g.consumers(nid) == [after]:
                found.append(nid)
    return tuple(g.node(nid).name for nid in sorted(set(found)))


# ---------------------------------------------------------------- printing

_HEADER = "import math\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def definitions_source(names) -> str:
    """The source of the torch_layers definitions a class needs, in their file order."""
    return "\n\n".join(map(_definition, names))


@functools.cache  # inspect re-reads and, for a class, re-parses layers.py on every call
def _definition(name: str) -> str:
    return inspect.getsource(getattr(torch_layers, name))


def _escape(text: str) -> str:
    """Text that is safe inside a triple-quoted docstring, whatever the spec said."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def describe(arch, fold_bn: bool) -> str:
    """The docstring: spec, parameters, shapes and counts."""
    params = ", ".join(f"{k}={v!r}" for k, v in arch.config.items()) or "none"
    lines = [
        f"{arch.name}: generated by archdsl {__version__}" + (f" from {arch.source}" if arch.source else ""),
        "",
        f"Spec parameters: {params}.",
        f"Input {fmt(arch.input_shape)} -> output {arch.outputs_text}; "
        f"{arch.params:,} parameters, {arch.macs:,} MACs per image.",
    ]
    if fold_bn:
        lines.append("Batch norm is folded into the preceding convs (inference); build one with")
        lines.append("`from_unfolded_state_dict(state_dict)` from the unfolded spec's weights.")
    return _escape("\n".join(lines))


def render_class(arch, low: Lowered, fold_bn: bool) -> str:
    ind, ind2 = " " * 4, " " * 8
    doc = describe(arch, fold_bn).replace("\n", "\n" + ind).replace(ind + "\n", "\n")
    out = [f"class {low.class_name}(Group):", f'{ind}"""{doc}\n{ind}"""', ""]
    out.append(f"{ind}SPEC = {arch.name!r}")
    out.append(f"{ind}INPUT_SHAPE = {lit(tuple(arch.input_shape))}")
    if arch.graph.more_inputs:
        out.append(f"{ind}INPUT_SHAPES = {lit(tuple((k, tuple(v)) for k, v in arch.input_shapes.items()))}")
    if arch.graph.outputs:
        out.append(f"{ind}OUTPUT_SHAPES = {lit(tuple((k, tuple(v)) for k, v in arch.output_shapes.items()))}")
    else:
        out.append(f"{ind}OUTPUT_SHAPE = {lit(tuple(arch.output_shape))}")
    if "sample_drop_path" in low.uses:
        groups = ", ".join(f"{lit(k)}: {lit(v)}" for k, v in low.drop_path_groups.items())
        out.append(f"{ind}DROP_PATH_GROUPS = {{{groups}}}  # global drop-path group -> its number of columns")
    if fold_bn:
        out.append(f"{ind}BN_FOLDS = (  # (conv, folded batch norm, eps)")
        out += [f"{ind2}({c!r}, {b!r}, {lit(e)})," for c, b, e in low.folds]
        out.append(f"{ind})")
        out += ["", f"{ind}def __init__(self):", f"{ind2}super().__init__()"]
    else:
        out.append(f"{ind}ZERO_INIT_RESIDUAL_BNS = (  # the last BN of each residual branch")
        out += [f"{ind2}{name!r}," for name in low.zero_init]
        out.append(f"{ind})")
        out += ["", f"{ind}def __init__(self, zero_init_residual=False):", f"{ind2}super().__init__()"]
    out += [f"{ind2}{line}" for line in _init_lines(low.tree)]
    zero = "()" if fold_bn else "self.ZERO_INIT_RESIDUAL_BNS if zero_init_residual else ()"
    out.append(f"{ind2}init_like_torchvision(self, {zero})")
    if fold_bn:
        out += [
            "",
            f"{ind}@classmethod",
            f"{ind}def from_unfolded_state_dict(cls, state_dict):",
            f'{ind2}"""This model, in eval mode, with the weights of the unfolded spec (e.g. torchvision\'s)."""',
            f"{ind2}model = cls()",
            f"{ind2}model.load_state_dict(fold_batchnorm(state_dict, cls.BN_FOLDS))",
            f"{ind2}return model.eval()",
        ]
    out += ["", f"{ind}def forward({', '.join(['self', 'x', *input_variables(arch.graph).values()])}):"]
    out += [f"{ind2}{line}" for line in low.forward]
    return "\n".join(out) + "\n"


def _init_lines(tree: ModuleTree) -> list[str]:
    lines = []

    def walk(container: str):
        for child in tree.children.get(container, ()):
            ctor = tree.ctor.get(child)
            lines.append(f"{attribute_path(child)} = {ctor if ctor is not None else 'Group()'}")
            if ctor is None:
                walk(child)

    walk("")
    return lines


def module_source(arch, fold_bn: bool = False) -> tuple[str, str]:
    """(source of a standalone module file, the class name)."""
    low = lower(arch, fold_bn)
    head = f'"""{describe(arch, fold_bn)}\n\nUsage:\n\n    model = {low.class_name}()\n    logits = model(torch.randn(8, *{low.class_name}.INPUT_SHAPE))\n"""\n'
    text = "\n\n".join([head + _HEADER, definitions_source(low.uses), render_class(arch, low, fold_bn)])
    return text, low.class_name
