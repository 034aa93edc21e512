"""Stage 5, analyses: pure functions over the IR, each returning a typed result."""
from .counts import Counts, count_nodes, totals_by_module
from .depth import depth, longest_paths
from .fractal import FractalSummary, fractal_summaries
from .paths import Histogram, PathStats, path_stats
from .shapes import infer_shapes
from .sharing import SharingSummary, sharing_summary
from .state import state_layout
from .stochastic import StochasticDepthSummary, stochastic_depth_summary

__all__ = [
    "Counts", "count_nodes", "totals_by_module", "depth", "longest_paths", "infer_shapes", "state_layout",
    "FractalSummary", "fractal_summaries", "Histogram", "PathStats", "path_stats",
    "SharingSummary", "sharing_summary", "StochasticDepthSummary", "stochastic_depth_summary",
]
