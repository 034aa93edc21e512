"""The backends, installed as archdsl.backends: they lower the IR and never import the archdsl package root.

    torch/   IR -> nn.Module / standalone Python source   (needs torch)
    onnx/    IR -> ONNX ModelProto                        (needs onnx)
    dot/     IR -> graphviz diagrams                      (needs the `dot` binary for images)

The core reaches them by name through archdsl.targets. Each keeps a lowering
table keyed by op kind (archdsl.ops.REGISTRY); a missing lowering is reported
with the op and its spec location, and a test fails for any registered kind
without one.
"""
