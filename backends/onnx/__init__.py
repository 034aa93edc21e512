"""The ONNX backend: IR -> a checked ONNX model (opset 17), straight from the IR with onnx.helper.

    lowering.py  how each op kind becomes ONNX nodes (a table, and functions where logic is needed)
    weights.py   a given state_dict checked against the spec, or seeded weights
    model.py     the graph, its names and the shape check against the analyser
    write.py     checked, atomic writing
"""
from .model import OPSET, build_model
from .weights import resolve_weights, seeded_weights
from .write import write, write_model

__all__ = ["OPSET", "build_model", "resolve_weights", "seeded_weights", "write", "write_model"]
