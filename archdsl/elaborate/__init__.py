"""Stage 4, AST -> IR: evaluate parameters and expressions, expand blocks, repetitions, loops and structures.

    evaluator.py    the safe expression evaluator (never Python's eval)
    binder.py       one argument binder for layers, block calls and structures
    names.py        qualified names
    params.py       parameters, overrides, lets and the input shape
    builder.py      the core: items, repetitions, layer and block calls, budgets
    replay.py       block calls built once, replayed for the same template, values and input shape
    sharing.py      `x n shared` weight sharing
    structures/     one module per structure keyword (residual, parallel, dense, stage, fractal, ...)
"""
from __future__ import annotations

from ..errors import ArchError
from ..gcpause import paused_gc
from ..ir import verify
from ..ops import Shape
from ..syntax.ast import Program
from .builder import Elaborator
from .evaluator import reset_budget


def elaborate(program: Program, overrides: dict | None = None, input_shape: Shape | None = None):
    """Build and verify the IR. Returns (graph, shapes, config); an ArchError carries `.partial` = (graph, shapes)."""
    reset_budget()
    e = Elaborator(program, overrides, input_shape)
    with paused_gc():  # building makes ~10 objects a node and no garbage (archdsl/gcpause.py)
        try:
            g = e.run()
            verify(g)
        except ArchError as err:
            err.partial = (e.g, e.shapes)
            raise
    return g, e.shapes, e.config
