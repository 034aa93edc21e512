"""The structures: one module each, registered by keyword.

A structure is `KEYWORD(args) { body } [shortcut { ... }]` in a spec (the
grammar's STRUCTURE terminal). Its module defines a `Structure` subclass with

    keyword           the spec keyword
    Config            a frozen dataclass of its arguments; each field is `arg(default, converter)`
    takes_shortcut    whether a `shortcut { }` body is allowed
    container         "named" (a container only when the item is named) or "always"
    build(e, call, cur) -> the node its output is

Adding a structure touches its module, the grammar's STRUCTURE terminal and the
docs; the binder, the YAML form and the error messages follow from Config.
"""
from . import dense, fractal, multi_residual, parallel, poly, residual, spatial_transformer, stage  # noqa: F401
from .base import STRUCTURES, Call, Pending, Structure, empty_branch

__all__ = ["STRUCTURES", "Call", "Pending", "Structure", "empty_branch"]
