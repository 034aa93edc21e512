"""Pausing Python's cyclic garbage collector while archdsl builds or walks a large graph.

A 100,000-node IR is about a million small objects, none of them garbage; each
collection the allocations trigger would walk them all (a fifth of the time
of `load` and `summary`). Reference counting still frees everything as usual;
the collector's state is restored on exit.

    with paused_gc():
        ...
"""
from __future__ import annotations

import functools
import gc
from contextlib import contextmanager


@contextmanager
def paused_gc():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_gc(fn):
    """Decorator: run `fn` with the collector paused."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper
