"""Analyses: pure functions over the IR, each returning a typed result."""
from .counts import Counts, count_nodes, totals_by_module
from .depth import depth
from .fractal import FractalSummary, extract_column, fractal_summaries
from .paths import Histogram, PathStats, path_stats
from .shapes import infer_shapes
from .state import state_layout
from .stochastic import StochasticDepthSummary, stochastic_depth_summary

__all__ = [
    "Counts", "count_nodes", "totals_by_module", "depth", "infer_shapes", "state_layout",
    "FractalSummary", "extract_column", "fractal_summaries",
    "Histogram", "PathStats", "path_stats",
    "StochasticDepthSummary", "stochastic_depth_summary",
]
