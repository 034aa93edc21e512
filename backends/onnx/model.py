"""The ONNX backend: IR -> a checked ONNX model, written atomically.

    arch = archdsl.load("specs/resnet50.arch")
    model = build_model(arch)                          # onnx.ModelProto, seeded weights
    export(arch, "resnet50.onnx", weights="r50.pt")    # checked, then renamed into place

Straight from the IR with onnx.helper: one emitter per op kind
(backends/onnx_emitters.py), visited in topological order. The graph input is
`input` [batch, C, H, W] with a dynamic batch, the output `logits`; ONNX node
names are the IR's qualified names and initializers the torch backend's
state_dict names (`layer1.0.conv1.weight`), so the model reads like the spec.

    input -> conv1 -> bn1 -> relu -> ... -> fc -> logits
             Conv     BatchNormalization      Gemm      (fuse_bn: conv1 = Conv with the BN folded in)

Weights come from a state_dict (a mapping, a torch `.pt` file, or `.npz`)
checked against `passes.state_layout`, or from a seeded initialisation.
Every model is shape-inferred (the shapes must equal the analyser's) and passes
`onnx.checker.check_model(full_check=True)` before it replaces the target file.
"""
from __future__ import annotations

import math

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from archdsl.errors import ArchError
from archdsl.ir import IRError
from archdsl.ops import state_key
from archdsl.targets import OnnxOptions
from archdsl.transforms import fold_bn
from archdsl.version import __version__

from . import decompose  # noqa: F401  (registers its emitters)
from .functions import with_functions
from .lowering import Lowering, fold_bn_into_conv, lower
from .weights import resolve_weights

OPSET = 17
INPUT_NAME, OUTPUT_NAME, BATCH = "input", "logits", "batch"


# ---------------------------------------------------------------- the graph


class ModelBuilder:
    """Walks the IR in topological order, asking each op kind's lowering for its ONNX nodes."""

    def __init__(self, arch, weights: Mapping[str, np.ndarray], fuse_bn: bool = False):
        self.arch = arch
        self.g, folds = fold_bn(arch.graph) if fuse_bn else (arch.graph, ())
        self.folds = {f.conv: f for f in folds}  # conv name -> the norm folded into it (transforms.fold_bn)
        self.weights = weights
        self.model = onnx.ModelProto()  # built in place: copying 240 MB of ResNet-152 weights costs 0.2 s a time
        self.graph = self.model.graph
        self.nodes = self.graph.node
        self.initialized: set[str] = set()
        self.tensors: dict[int, str] = {}  # IR node -> the ONNX tensor holding its output

    def weight_name(self, node, suffix: str) -> str:
        """A node that shares weights (ir.Node.shared_with) reads its owner's initializers."""
        return state_key(node.shared_with or node.name, suffix)

    def add_initializer(self, name: str, array: np.ndarray) -> str:
        if name in self.initialized:
            raise IRError(f"initializer {name!r} added twice")
        self.initialized.add(name)
        if array.dtype == np.float32:
            tensor = self.graph.initializer.add(name=name, data_type=TensorProto.FLOAT, dims=array.shape)
            tensor.raw_data = np.ascontiguousarray(array).tobytes()
        else:
            self.graph.initializer.add().CopyFrom(numpy_helper.from_array(array, name))
        return name

    def folded_conv(self, conv) -> tuple[np.ndarray, np.ndarray]:
        """The weight and bias of a conv with its norm folded in (from the unfolded weights)."""
        fold, w = self.folds[conv.name], self.weights[f"{conv.name}.weight"]
        out = w.shape[0]
        b = self.weights[f"{conv.name}.bias"] if fold.conv_bias else np.zeros(out, np.float32)
        if fold.affine:
            gamma, beta = self.weights[f"{fold.norm}.weight"], self.weights[f"{fold.norm}.bias"]
        else:
            gamma, beta = np.ones(out, np.float32), np.zeros(out, np.float32)
        return fold_bn_into_conv(w, b, gamma, beta, self.weights[f"{fold.norm}.running_mean"],
                                 self.weights[f"{fold.norm}.running_var"], fold.eps)

    def _output_names(self) -> dict[str, int]:
        """The graph outputs: `logits`, or the spec's `output` names."""
        return dict(self.g.outputs) if self.g.outputs else {OUTPUT_NAME: self.g.output}

    def _target_name(self, nid: int) -> str:
        """The tensor name a node's output gets: its qualified name (a folded conv: its norm's), an output's name."""
        outputs = self._output_names()
        for key, out in outputs.items():
            if out == nid:
                return key
        name = self.g.node(nid).name
        name = self.folds[name].norm if name in self.folds else name
        return f"{name}/out" if name == INPUT_NAME or name in outputs or name in self.g.more_inputs else name

    def build(self) -> onnx.ModelProto:
        g, shapes = self.g, self.arch.shapes
        for nid in g.order:
            node = g.node(nid)
            if node.op.traits.source:  # the first input is `input`; the others are named as in the spec
                self.tensors[nid] = INPUT_NAME if nid == g.input else node.name
                continue
            preds = g.inputs(nid)
            lowering = Lowering(self, nid, node, [self.tensors[p] for p in preds], [shapes[p] for p in preds],
                                shapes[nid], self._target_name(nid))
            self.tensors[nid] = lower(lowering)
        self.graph.name = self.arch.name
        self.graph.input.append(self._value_info(INPUT_NAME, g.input))
        for name, nid in g.more_inputs.items():
            self.graph.input.append(self._value_info(name, nid))
        for key, out_nid in self._output_names().items():
            if self.tensors[out_nid] != key:  # the output op emitted nothing (dropout, identity), or a second name
                self.nodes.append(helper.make_node("Identity", [self.tensors[out_nid]], [key],
                                                   name=f"{g.node(out_nid).name}/{key}"))
            self.graph.output.append(self._value_info(key, out_nid))
        return self._finish_model()

    def _value_info(self, name: str, nid: int) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [BATCH, *self.arch.shapes[nid]])

    def _finish_model(self) -> onnx.ModelProto:
        model = self.model
        model.opset_import.append(helper.make_opsetid("", OPSET))
        model.ir_version = helper.find_min_ir_version_for(model.opset_import)
        model.producer_name, model.producer_version = "archdsl", __version__
        model.doc_string = f"{self.arch.name}, compiled by archdsl from {self.arch.source or 'a spec'}"
        helper.set_model_props(model, {"archdsl.spec": str(self.arch.source or ""),
                                       "archdsl.params": str(self.arch.params)})
        return model

    # -- shape check

    def check_shapes(self, model: onnx.ModelProto) -> None:
        """ONNX shape inference must give every IR node's tensor the analyser's shape (batch aside).

        Runs on a skeleton of the model (float weights declared, not stored), so it
        costs milliseconds even for ResNet-152.
        """
        graph = model.graph
        def weight(t) -> bool:  # small float constants (Resize's scales) stay: inference reads their values
            return t.data_type == TensorProto.FLOAT and math.prod(t.dims) > 16

        declared = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in graph.initializer if weight(t)]
        kept = [t for t in graph.initializer if not weight(t)]
        skeleton = helper.make_model(helper.make_graph(graph.node, graph.name, list(graph.input) + declared,
                                                       graph.output, initializer=kept),
                                     opset_imports=model.opset_import)
        skeleton.ir_version = model.ir_version
        try:
            inferred = onnx.shape_inference.infer_shapes(skeleton, check_type=True, strict_mode=True, data_prop=True)
        except onnx.shape_inference.InferenceError as err:
            raise ArchError(f"ONNX shape inference failed on the model for {self.arch.name} (a bug in archdsl's "
                            f"ONNX emitters): {err}") from None
        found = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input)}
        for nid, tensor in self.tensors.items():
            expected = self.arch.shapes[nid]
            got = inferred_dims(found.get(tensor))
            if got is None or len(got) != len(expected) + 1 or tuple(got[1:]) != tuple(expected) or isinstance(got[0], int):
                node = self.g.node(nid)
                raise ArchError(f"ONNX infers {got} for {node.name} ({node.kind}) but the analyser says "
                                f"[batch, {', '.join(map(str, expected))}] (a bug in the ONNX emitter)", node.span)


def inferred_dims(value_info) -> list | None:
    """[dim_param or dim_value or None, ...] of a ValueInfoProto; None if it has no shape."""
    if value_info is None or not value_info.type.tensor_type.HasField("shape"):
        return None
    return [d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else None
            for d in value_info.type.tensor_type.shape.dim]


def build_model(arch, options: OnnxOptions = OnnxOptions()) -> onnx.ModelProto:
    """The ONNX model of `arch` (shape-checked against the analyser, not yet run through the checker)."""
    builder = ModelBuilder(arch, resolve_weights(arch, options.weights, options.seed), options.fuse_bn)
    model = builder.build()
    builder.check_shapes(model)
    return with_functions(model, builder.g, OPSET) if options.functions else model
