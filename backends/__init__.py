"""Backends lower the graph IR to other forms, one emitter per op kind.

    torch_module.py  IR -> nn.Module / standalone Python source   (needs torch)
    onnx_model.py    IR -> ONNX ModelProto                        (needs onnx)
    dot.py           IR -> graphviz diagrams                      (needs the `dot` binary for images)

Each backend keeps a registry keyed by op kind (archdsl.ops.REGISTRY); a
missing emitter is reported with the op and its spec location.
"""
