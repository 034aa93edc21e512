"""The graphviz backend: diagrams as DOT text, and SVG/PNG/PDF through the `dot` binary.

    view.py     what a diagram shows at each level (boxes, clusters, folds, edges)
    unravel.py  Veit et al.'s unraveled view of a small residual net
    render.py   DOT text, styles, and writing files
"""
from .render import FORMATS, dot_text, run_dot, svg_text, to_dot, write

__all__ = ["FORMATS", "dot_text", "run_dot", "svg_text", "to_dot", "write"]
