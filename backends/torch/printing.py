"""The structured form printed: runtime definitions, one class per template, dense blocks, the network.

Every line is built with pyformat (ruff's layout at 88 columns), and the
imports are the ones the file uses, so `ruff check` and `ruff format --check`
pass on what this writes.
"""
from __future__ import annotations

import keyword
import re

from archdsl.ops import fmt

from .classes import ClassDef
from .codegen import class_name, definitions_source, describe
from .exprs import Layers, Signatures, render
from .pyformat import literal, split_expression, statement, wrap
from .scopes import Body
from .structured import Structured, compress

_IMPORTS = (("math", "import math"), ("OrderedDict", "from collections import OrderedDict"), ("torch", "import torch"), ("F", "import torch.nn.functional as F"),
            ("nn", "from torch import nn"))  # isort's order, as `ruff check` wants it
_I1, _I2 = " " * 4, " " * 8


def forward_lines(body: Body, indent: int, comments: dict[str, str], optional: dict[str, str],
                  dp: str | None) -> list[str]:
    """Straight-line forward over `body`'s steps, local variables recycled once dead.

    `optional`: step key -> the input it falls back to when its module is None.
    """
    steps = body.steps
    last_use: dict[str, int] = {}
    for i, step in enumerate(steps):
        for key in step.inputs:
            last_use[key] = i
    slot, free, count = {"x": 0, **{key: key for key in body.inputs[1:]}}, [], 1
    kept = {body.exit} | {key for _, key in body.exits}  # returned: never overwritten
    lines = [f"drop_path = sample_drop_path(self.DROP_PATH_GROUPS, self.training, x.device)"] if dp == "sample" else []
    pad = " " * 4
    for i, step in enumerate(steps):
        dying = [k for k in dict.fromkeys(step.inputs) if last_use[k] == i and k not in kept]
        fallback = optional.get(step.key)
        if fallback is not None and fallback in dying:
            target = slot[fallback]
        elif dying and step.inputs[0] in dying:
            target = slot[step.inputs[0]]
        elif dying:
            target = slot[dying[0]]
        elif free:
            target = min(free)
            free.remove(target)
        else:
            target, count = count, count + 1
        for k in dying:
            if slot[k] != target and isinstance(slot[k], int):  # an input's own name is not recycled
                free.append(slot[k])
        slot[step.key] = target
        args = [_var(slot[k]) for k in step.inputs] + (["drop_path=drop_path"] if step.drop_path else [])
        callee = attribute_path(step.callee)
        value = f"{', '.join(args)} * {callee}" if step.parameter else f"{callee}({', '.join(args)})"
        code = f"{_var(target)} = {value}"
        if fallback is None:
            lines += statement(code, indent, comments.get(step.key))
            continue
        lines.append(f"if {callee} is not None:")
        lines += [pad + line for line in statement(code, indent + 4, comments.get(step.key))]
        if slot[fallback] != target:
            lines += ["else:", f"{pad}{_var(target)} = {_var(slot[fallback])}"]
    if body.as_tuple:
        return lines + [f"return {', '.join(_var(slot[key]) for _, key in body.exits)}"]
    if body.exits:
        return lines + ["return {" + ", ".join(f"{literal(k)}: {_var(slot[key])}" for k, key in body.exits) + "}"]
    return lines + [f"return {_var(slot[body.exit])}"]


def attribute_path(path: str) -> str:
    """`layer1.0.conv1` -> `self.layer1[0].conv1`; other names as `self["block1-0"]` (double quotes, as ruff)."""
    out = "self"
    for part in path.split("."):
        if part.isdigit() and str(int(part)) == part:
            out += f"[{int(part)}]"
        elif keyword.iskeyword(part) or not part.isidentifier() or part.startswith("__"):
            out += f"[{literal(part)}]"
        else:
            out += f".{part}"
    return out


def _var(slot: int | str) -> str:
    if isinstance(slot, str):
        return slot
    return "x" if slot == 0 else f"x{slot}"


def template_class(cdef: ClassDef, signatures: Signatures) -> list[str]:
    doc = f'{_I1}"""The spec\'s `{cdef.template}` block ({cdef.count} in the network)."""'
    out = [f"class {cdef.name}({cdef.base}):", doc, ""]
    if cdef.zero and not cdef.zero_flag:
        out += [f"{_I1}RESIDUAL_BNS = {literal(cdef.zero)}  # the last BN of its residual branch", ""]
    params = ["self"] + [p.name + (f"={literal(p.default)}" if p.has_default else "") for p in cdef.params]
    out += [_I1 + line for line in wrap("def __init__(", params, "):", 4)]
    if cdef.base == "nn.Sequential":
        exprs = [cdef.exprs[e.path] for e in cdef.body.entries]
        forms = [wrap("super().__init__(", [render(e) for e in items], ")", 8)
                 for items in (compress(exprs, signatures), exprs)]
        return out + [_I2 + line for line in min(forms, key=len)]  # repetitions as comprehensions where shorter
    out.append(f"{_I2}super().__init__()")
    for entry in cdef.body.entries:
        expr = cdef.exprs[entry.path]
        if isinstance(expr, Layers):
            out += layers_lines(_attr(entry.path), expr)
            continue
        code = f"{_attr(entry.path)} = {'Group()' if expr is None else render(expr)}"
        if entry.path in cdef.optional:
            out += [f"{_I2}{_attr(entry.path)} = None", f"{_I2}if {cdef.optional[entry.path]}:"]
            out += [_I2 + _I1 + line for line in statement(code, 12)]
        else:
            out += [_I2 + line for line in statement(code, 8)]
    if cdef.zero_flag:
        out += [f"{_I2}if {cdef.zero_flag}:",
                f"{_I2}{_I1}self.RESIDUAL_BNS = {literal(cdef.zero)}  # the last BN of a residual branch"]
    dp = ", drop_path=None" if cdef.body.needs_dp else ""
    out += ["", f"{_I1}def forward(self, x{dp}):"]
    lines = forward_lines(cdef.body, 8, cdef.comments, cdef.fallbacks, None)
    return out + [_I2 + line for line in lines]


def layers_lines(target: str, layers: Layers) -> list[str]:
    """`layers = []`, an append per item (under its flag), then `target = nn.Sequential(*layers)`."""
    out = [f"{_I2}layers = []"]
    for item, flag in layers.items:
        code = f"layers.append({render(item)})"
        if flag is None:
            out += [_I2 + line for line in statement(code, 8)]
        else:
            out += [f"{_I2}if {flag}:"] + [_I2 + _I1 + line for line in statement(code, 12)]
    return out + [f"{_I2}{target} = nn.Sequential(*layers)"]


def dense_class(name: str, prefix: str, start: int, join: str, join_ctor: str) -> list[str]:
    layer = f'f"{prefix}{{i + {start}}}"' if start else f'f"{prefix}{{i}}"'
    return [
        f"class {name}(Group):",
        f'{_I1}"""`dense {{ ... }}`: each layer reads the concatenation of the input and all earlier outputs."""',
        "",
        f"{_I1}def __init__(self, layers):",
        f"{_I2}super().__init__()",
        f"{_I2}for i, layer in enumerate(layers):",
        f"{_I2}{_I1}self[{layer}] = layer",
        f'{_I2}{_I1}self["{join}" if i == 0 else f"{join}{{i}}"] = {join_ctor}',
        "",
        f"{_I1}def forward(self, x):",
        f"{_I2}features = [x]",
        f"{_I2}children = list(self.children())",
        f"{_I2}for layer, join in zip(children[::2], children[1::2]):",
        f"{_I2}{_I1}features.append(layer(x))",
        f"{_I2}{_I1}x = join(*features)",
        f"{_I2}return x",
    ]


def parallel_class(name: str, group: str, join: str, join_ctor: str) -> list[str]:
    return [
        f"class {name}(nn.Module):",
        f'{_I1}"""`parallel {{ {group}: {{ ... }} x n }}`: every branch on the same input, their outputs joined."""',
        "",
        f"{_I1}def __init__(self, branches):",
        f"{_I2}super().__init__()",
        f"{_I2}self.{group} = nn.ModuleList(branches)",
        *[_I2 + line for line in statement(f"self.{join} = {join_ctor}", 8)],
        "",
        f"{_I1}def forward(self, x):",
        *[_I2 + line for line in statement(f"return self.{join}(*[branch(x) for branch in self.{group}])", 8)],
    ]


def network_class(st) -> tuple[list[str], str]:
    arch, body, fold = st.arch, st.body(""), st.fold_bn
    name = class_name(arch.name)
    doc = describe(arch, fold).replace("\n", "\n" + _I1).replace(_I1 + "\n", "\n")
    out = [f"class {name}(Group):", f'{_I1}"""{doc}\n{_I1}"""', ""]
    out.append(f"{_I1}SPEC = {literal(arch.name)}")
    out.append(f"{_I1}INPUT_SHAPE = {literal(tuple(arch.input_shape))}")
    if arch.graph.more_inputs:  # (name, shape) pairs, in forward's order (a class-level dict fails `ruff check`)
        shapes = literal(tuple((k, tuple(v)) for k, v in arch.input_shapes.items()))
        out += [_I1 + line for line in statement(f"INPUT_SHAPES = {shapes}", 4)]
    if arch.graph.outputs:
        shapes = literal(tuple((k, tuple(v)) for k, v in arch.output_shapes.items()))
        out += [_I1 + line for line in statement(f"OUTPUT_SHAPES = {shapes}", 4)]
    else:
        out.append(f"{_I1}OUTPUT_SHAPE = {literal(tuple(arch.output_shape))}")
    if body.needs_dp:
        groups = literal(tuple(st.drop_path_groups.items()))
        out += [_I1 + line for line in statement(f"DROP_PATH_GROUPS = {groups}", 4, "(group, number of columns)")]
    if fold:
        out.append(f"{_I1}BN_FOLDS = (  # (conv, folded batch norm, eps)")
        for f in st.folds:
            row = f"({literal(f.conv)}, {literal(f.norm)}, {literal(f.eps)}),"
            out += [_I2 + line for line in split_expression(row, 8)]
        out.append(f"{_I1})")
        out += ["", f"{_I1}def __init__(self):", f"{_I2}super().__init__()"]
    else:
        if body.zero:
            out += [_I1 + line for line in statement(f"RESIDUAL_BNS = {literal(body.zero)}", 4,
                                                     "last BNs of residual branches")]
        out += ["", f"{_I1}def __init__(self, zero_init_residual=False):", f"{_I2}super().__init__()"]
    for entry in _flat_entries(st, body):
        out += [_I2 + line for line in statement(entry, 8)]
    zero = "()" if fold else "self.ZERO_INIT_RESIDUAL_BNS if zero_init_residual else ()"
    out += [_I2 + line for line in statement(f"init_like_torchvision(self, {zero})", 8)]
    if fold:
        out += [
            "", f"{_I1}@classmethod", f"{_I1}def from_unfolded_state_dict(cls, state_dict):",
            f'{_I2}"""This model, in eval mode, with the weights of the unfolded spec (e.g. torchvision\'s)."""',
            f"{_I2}model = cls()",
            f"{_I2}model.load_state_dict(fold_batchnorm(state_dict, cls.BN_FOLDS))",
            f"{_I2}return model.eval()",
        ]
    else:
        out += ["", f"{_I1}@property", f"{_I1}def ZERO_INIT_RESIDUAL_BNS(self):",
                f'{_I2}"""The last BN of each residual branch, in module order (for zero_init_residual)."""',
                f"{_I2}return residual_branch_bns(self)"]
    comments = {s.key: fmt(st.scopes.shapes[s.out]) for s in body.steps}
    out += ["", f"{_I1}def forward(self, {', '.join(body.inputs)}):"]
    lines = forward_lines(body, 8, comments, {}, "sample" if body.needs_dp else None)
    return out + [_I2 + line for line in lines], name


def _flat_entries(st, body) -> list[str]:
    lines = []
    for entry in body.entries:
        lines.append(f"{_attr(entry.path)} = {'Group()' if entry.expr is None else render(entry.expr)}")
    return lines


def _attr(path: str) -> str:
    return attribute_path(path)


def render_file(st) -> tuple[str, str]:
    net, name = network_class(st)
    classes = [template_class(c, st.signatures) for c in st.templates.defs]
    dense = [dense_class(n, *key) for key, n in st.dense_classes.items()]
    dense += [parallel_class(n, *key) for key, n in st.parallel_classes.items()]
    body = "\n\n\n".join("\n".join(c) for c in dense + classes + [net]) + "\n"
    needed = {"Group", "init_like_torchvision"} | ({"fold_batchnorm"} if st.fold_bn else {"residual_branch_bns"})
    needed |= {u for code in st.scopes.code.values() for u in code.uses}
    if st.body("").needs_dp:
        needed.add("sample_drop_path")
    needed |= st.runtime
    if st.dense_classes:
        needed |= {w for k in st.dense_classes for w in re.findall(r"[A-Z]\w*", k[3])}
    needed |= {w for k in st.parallel_classes for w in re.findall(r"[A-Z]\w*", k[2])}
    from . import layers as torch_layers

    defs = definitions_source([n for n in vars(torch_layers) if n in needed])
    code = defs.rstrip() + "\n\n\n" + body
    imports = [line for word, line in _IMPORTS if re.search(rf"(?<![.\w]){word}[.(]", code)]
    standard = sum(1 for line in imports if "torch" not in line)
    if standard:
        imports.insert(standard, "")
    doc = describe(st.arch, st.fold_bn)
    usage = f"    model = {name}()\n    logits = model(torch.randn(8, *{name}.INPUT_SHAPE))"
    head = f'"""{doc}\n\nUsage:\n\n{usage}\n"""\n\n' + "\n".join(imports) + "\n"
    return head + "\n\n" + code, name


def module_source(arch, fold_bn: bool = False) -> tuple[str, str]:
    """(source of a standalone module file, the class name), in the structured form."""
    return render_file(Structured(arch, fold_bn))
