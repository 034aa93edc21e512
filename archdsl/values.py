"""Spec values and how errors show them: shared by the ops, the elaborator and the reports.

A spec value is an int, float, bool, str, tuple (a list), dict (a map) or, while a
network is built, a Tensor (`@name`: an earlier item's output).

    type_name(3) -> "int"      show((1, 2)) -> "[1, 2]"      show(True) -> "true"
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_INT = 10**18  # integers beyond are refused (literals, YAML values, arithmetic), so sizes stay sane


@dataclass(frozen=True)
class Tensor:
    """`@name`: the output of an earlier item: its node, shape, qualified name and where it was made."""

    node: int
    shape: tuple[int, ...]
    name: str
    span: object  # errors.Span of the item that made it

    def __repr__(self) -> str:
        return f"@{self.name}"


def type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "string", tuple: "list", dict: "map", Tensor: "tensor"}.get(
        type(value), type(value).__name__)


def show(value, limit: int = 80) -> str:
    """The value as a spec would write it, shortened to about `limit` characters."""
    text = _show(value, limit)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value, limit: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii")[:limit] + '"'
    if isinstance(value, int):
        digits = value.bit_length() * 0.30103
        return repr(value) if digits < limit else f"<an integer of about {int(digits) + 1} digits>"
    if isinstance(value, tuple):
        parts, size = [], 0
        for v in value:
            parts.append(_show(v, limit))
            size += len(parts[-1]) + 2
            if size > limit:
                parts.append("...")
                break
        return "[" + ", ".join(parts) + "]"
    if isinstance(value, dict):
        parts, size = [], 0
        for k, v in value.items():
            parts.append(f"{_show(k, limit)}: {_show(v, limit)}")
            size += len(parts[-1]) + 2
            if size > limit:
                parts.append("...")
                break
        return "{" + ", ".join(parts) + "}"
    return repr(value)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
