"""Stage 2, the op registry: every op kind, defined once (see base.py). Importing it registers them all."""
from . import activations, basic, channels, conv, merge, norm, pooling, resample, spatial, train_time  # noqa: F401  (registration)
from .args import ArgSpec
from .base import REGISTRY, Merge, Op, Shape, ShapeError, Traits, fmt, numel, state_key

__all__ = ["REGISTRY", "ArgSpec", "Merge", "Op", "Shape", "ShapeError", "Traits", "fmt", "numel", "state_key"]
