"""The registered op kinds. Importing this package registers all of them."""
from . import layers, merge  # noqa: F401  (registration side effect)
from . import depthwise  # noqa: F401  (dwconv; issue 3)
from . import spatial, train_time  # noqa: F401  (join, stochastic_depth, gate, one_minus; STN ops)
from .base import REGISTRY, ArgSpec, Op, Shape, ShapeError, fmt, numel

__all__ = ["REGISTRY", "ArgSpec", "Op", "Shape", "ShapeError", "fmt", "numel"]
