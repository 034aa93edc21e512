"""One ONNX local function per block template: the model's graph becomes the spec's block calls.

    layer3.5: bottleneck(256)   ->  node "layer3.5", op_type "bottleneck" (domain "archdsl"),
                                    inputs [layer3.4, layer3.5.conv1.weight, ...], output layer3.5
                                    function "bottleneck": Conv "conv1", BatchNormalization "bn1", ...

A viewer then shows ResNet-152 as its stages of block calls, each expanding
on demand; onnxruntime inlines the functions when it loads the model. Read
from the IR's block calls (g.modules, kind "block"): the outermost ones
whose ONNX nodes are contiguous, read one tensor from outside (the rest are
initializers, passed in as inputs) and give one. Instances whose nodes,
attributes and wiring agree share a function; others of the same template
get `<template>_2`, ... (a first block with a projection shortcut and a
stride). Inside a function, nodes and tensors keep their names relative to
the call (`conv1`, `downsample.0`), so node names stay the spec's.
"""
from __future__ import annotations

import onnx
from onnx import helper

from archdsl.ir import Graph

DOMAIN = "archdsl"


def with_functions(model: onnx.ModelProto, g: Graph, opset: int) -> onnx.ModelProto:
    """`model` with each block call's nodes replaced by a call of its template's function."""
    graph = model.graph
    nodes = list(graph.node)
    weights = {t.name for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    owner = _owners(nodes, _outermost_blocks(g))
    users: dict[str, set[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            users.setdefault(name, set()).add(i)
    functions: dict[bytes, onnx.FunctionProto] = {}
    counts: dict[str, int] = {}
    calls: dict[int, onnx.NodeProto] = {}  # first node index of a block -> its call
    replaced: set[int] = set()
    for block, span in _runs(owner).items():
        call = _function_call(g, block, [nodes[i] for i in span], span, weights, outputs, users, functions, counts,
                              opset)
        if call is not None:
            calls[span[0]] = call
            replaced.update(span)
    if not calls:
        return model
    kept = []
    for i, node in enumerate(nodes):
        if i in calls:
            kept.append(calls[i])
        elif i not in replaced:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    model.functions.extend(functions.values())
    model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    return model


def _outermost_blocks(g: Graph) -> list[str]:
    blocks = [name for name, m in g.modules.items() if m.kind == "block" and name]
    inside = set()
    for name in blocks:
        parts = name.split(".")
        if any(".".join(parts[:k]) in g.modules and g.modules[".".join(parts[:k])].kind == "block"
               for k in range(1, len(parts))):
            inside.add(name)
    return [b for b in blocks if b not in inside]


def _owners(nodes, blocks: list[str]) -> list[str | None]:
    """For each ONNX node, the outermost block call it belongs to (by its qualified name), or None."""
    found = []
    for node in nodes:
        parts = node.name.split("/")[0].split(".")
        prefixes = (".".join(parts[:k]) for k in range(1, len(parts)))
        found.append(next((p for p in prefixes if p in blocks), None))
    return found


def _runs(owner: list[str | None]) -> dict[str, list[int]]:
    """Block -> the indices of its nodes, for blocks whose nodes are contiguous."""
    spans: dict[str, list[int]] = {}
    for i, block in enumerate(owner):
        if block is not None:
            spans.setdefault(block, []).append(i)
    return {b: s for b, s in spans.items() if s[-1] - s[0] + 1 == len(s)}


def _function_call(g, block, body, span, weights, graph_outputs, users, functions, counts, opset):
    inside = set(span)
    made = {name for node in body for name in node.output}
    external = list(dict.fromkeys(n for node in body for n in node.input if n and n not in made))
    data = [n for n in external if n not in weights]
    params = [n for n in external if n in weights]
    results = [n for n in dict.fromkeys(o for node in body for o in node.output)
               if n in graph_outputs or users.get(n, set()) - inside]
    if len(data) != 1 or len(results) != 1:
        return None
    prefix = block + "."

    def local(name: str) -> str:
        if name == data[0]:
            return "x"
        return name[len(prefix):] if name.startswith(prefix) else name

    inner = []
    for node in body:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = local(node.name.split("/")[0]) + node.name[len(node.name.split("/")[0]):]
        copy.input[:] = [local(n) if n else n for n in node.input]
        copy.output[:] = [local(n) for n in node.output]
        inner.append(copy)
    formal_in, formal_out = ["x"] + [local(p) for p in params], [local(results[0])]
    template = g.modules[block].template
    fn = helper.make_function(DOMAIN, template, formal_in, formal_out, inner, [helper.make_opsetid("", opset)])
    key = fn.SerializeToString()
    if key not in functions:
        counts[template] = counts.get(template, 0) + 1
        fn.name = template if counts[template] == 1 else f"{template}_{counts[template]}"
        functions[key] = fn
    return helper.make_node(functions[key].name, [data[0], *params], results, name=block, domain=DOMAIN)
