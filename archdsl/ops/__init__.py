"""The registered op kinds. Importing this package registers all of them."""
from . import layers, merge  # noqa: F401  (registration side effect)
from .base import REGISTRY, ArgSpec, Op, Shape, ShapeError, fmt, numel

__all__ = ["REGISTRY", "ArgSpec", "Op", "Shape", "ShapeError", "fmt", "numel"]
