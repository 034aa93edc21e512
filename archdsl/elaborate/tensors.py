"""Named tensors: `@name` references, joins of named tensors, `to=@t`, and tensors that lead nowhere.

    network {
      stem: conv(64, 3)
      down: { maxpool(2) conv(128, 3) }
      up: upsample(to=@stem)
      cat: concat(@up, @stem)          # a join of named tensors
      @down                            # the next item continues from down
      aux: conv(10, 1)
    }
    output out = @cat, aux

Every item's output is recorded in its container's `Names.tensors` (builder.record); `@a`
looks in the current container, then the ones around it, up to the enclosing block's body;
`@a.b.c` walks into named items by qualified name (`Elaborator.tensors`).
"""
from __future__ import annotations

from ..errors import ArchError, suggest
from ..ir import Role
from ..syntax import ast as A
from ..values import Tensor, show, type_name
from .evaluator import evaluate
from .names import check_name


def resolve(e, ref: A.TensorRef, scope: dict) -> Tensor:
    """`@a` (an item of this body or one around it, up to the enclosing block's body, or a block argument
    holding a tensor); `@a.b.c`: item c of item b of a."""
    path = ref.path
    if ref.named is not None:
        text = evaluate(ref.named, scope)
        if not isinstance(text, str):
            raise ArchError(f"@\"...\" needs a name, got {type_name(text)} {show(text)}", ref.span)
        path = tuple(check_name(part, ref.span, "tensor name") for part in text.split("."))
    first, rest = path[0], path[1:]
    found = None
    for names in e.here.visible():
        if first in names.tensors:
            found = _tensor(e, *names.tensors[first])
            break
    argument = scope.get(first)
    if isinstance(argument, Tensor):
        if found is not None:
            raise ArchError(f"@{first} is ambiguous: the block argument '{first}' ({argument.name}) and the item "
                            f"'{first}' made at {found.span}", ref.span)
        found = argument
    if found is None:
        seen = [n for names in e.here.visible() for n in names.tensors]
        raise ArchError(f"no tensor named '{first}' before this point{suggest(first, seen)} (a reference "
                        "names an earlier item of this body or of the bodies around it, within its block)",
                        ref.span, note=("tensors here: " + ", ".join("@" + n for n in seen[-12:])) if seen else None)
    for part in rest:
        inner = e.tensors.get(f"{found.name}.{part}")
        if inner is None:
            items = [k[len(found.name) + 1:] for k in e.tensors if k.startswith(found.name + ".")
                     and "." not in k[len(found.name) + 1:]]
            what = f"its items: {', '.join(items[:12])}" if items else "it has no named items"
            raise ArchError(f"'{found.name}' has no item '{part}' ({what})", ref.span)
        found = _tensor(e, inner, f"{found.name}.{part}")
    return found


def _tensor(e, nid: int, name: str) -> Tensor:
    return Tensor(nid, e.shapes[nid], name, e.g.node(nid).span)


def tensor_args(e, call: A.Call, op_cls, scope: dict):
    """(the call's other arguments, its input tensors or None): `concat(@a, @b)` joins named tensors (a list
    of tensors counts as its items); `to=@t` gives an op with a size (upsample, crop) the height and width of t."""
    inputs, args = [], []
    joins = op_cls.max_inputs != 1
    for arg in call.args:
        tensors_maybe = isinstance(arg.value, A.TensorRef) or (joins and arg.name is None)
        value = evaluate(arg.value, scope) if tensors_maybe else None
        if joins and arg.name is None and isinstance(value, tuple) and value and all(
                isinstance(v, Tensor) for v in value):
            inputs.extend(value)  # concat(@a, [@"m.{i}" for i in range(n)])
        elif arg.name is None and isinstance(value, Tensor):
            if op_cls.max_inputs == 1:
                raise ArchError(f"'{call.name}' takes one input, the item before it; to start from another "
                                f"tensor write `@{value.name.rpartition('.')[2]} {call.name}(...)`", arg.span)
            inputs.append(value)
        elif arg.name == "to" and "size" in {a.name for a in op_cls.ARGS}:
            if not isinstance(value, Tensor) or len(value.shape) != 3:
                raise ArchError(f"{call.name}(to=...) takes a CxHxW tensor, e.g. to=@input", arg.span)
            args.append(A.Arg(arg.span, "size", A.Literal(arg.value.span, value.shape[1:])))
        else:
            args.append(arg)
    if not inputs:
        return (call.args if len(args) == len(call.args) and all(a is b for a, b in zip(args, call.args))
                else tuple(args)), None
    if len(inputs) < op_cls.min_inputs:
        raise ArchError(f"'{call.name}' needs at least {op_cls.min_inputs} inputs, got {len(inputs)}", call.span)
    return tuple(args), inputs


def check_dead_ends(e) -> None:
    """Every tensor is used by a later item or is an output of the network."""
    outputs = set(e.g.outputs.values()) if e.g.outputs else {e.g.output}
    for nid in e.g.unused():
        if nid not in outputs:
            node = e.g.node(nid)
            hint = "name it in `output`" if e.g.outputs else "use it (e.g. in a concat) or declare `output`"
            raise ArchError(f"the output of '{node.name}' is never used: {hint}, or remove it", node.span)


def join_roles(e, inputs: list[int]) -> tuple[Role, ...] | None:
    """The roles of a join of named tensors: an input is a shortcut (SKIP) when, back through layers without
    weights (crop, resize, pooling, norms), it reaches a tensor another input is computed from (a residual
    `add(@x, @fx)`, U-Net's `concat(@skip, @up)`); the others are branch ends (BODY). None: all BODY."""
    g = e.g
    roles = []
    for i, nid in enumerate(inputs):
        others = set()
        for j, other in enumerate(inputs):
            if j != i:
                others |= g.ancestors(other)
        n = nid
        while n not in others and len(g.inputs(n)) == 1 and not g.node(n).op.weight_layer:
            n = g.inputs(n)[0]
        roles.append(Role.SKIP if n in others else Role.BODY)
    if Role.SKIP not in roles or Role.BODY not in roles:
        return None
    return tuple(roles)
