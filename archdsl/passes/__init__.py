"""Analyses: pure functions over the IR, each returning a typed result."""
from .counts import Counts, count_nodes, totals_by_module
from .depth import depth
from .shapes import infer_shapes
from .state import state_layout

__all__ = ["Counts", "count_nodes", "totals_by_module", "depth", "infer_shapes", "state_layout"]
