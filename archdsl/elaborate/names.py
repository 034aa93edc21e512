"""Qualified names: every node is named by its containers, like torch's module tree.

A named item takes its name; an unnamed one takes its position in the
enclosing container, like nn.Sequential. Block calls, sequences `{}`,
stages and named repetitions are containers; an unnamed residual, parallel
or dense structure is transparent (its items are named in the enclosing
container).

    layer3: stage { bottleneck(256) x 36 }   ->  layer3.0.conv1, ..., layer3.35.relu_out
"""
from __future__ import annotations

import re

from ..errors import ArchError, Span

VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|0|[1-9][0-9]*")  # matched whole (fullmatch)


_CHECKED: set[str] = set()  # names seen valid (specs repeat them: conv1, bn1, ...)


def check_name(name, span: Span, what: str = "layer name") -> str:
    if isinstance(name, str) and name in _CHECKED:
        return name
    if not isinstance(name, str) or not VALID_NAME.fullmatch(name):
        shown = name.encode("unicode_escape").decode("ascii") if isinstance(name, str) else repr(name)
        raise ArchError(f"'{shown}' is not a valid {what} (letters, digits, _ and -, not starting with a digit or -; "
                        "or a position such as 7, without leading zeros)", span)
    if len(_CHECKED) < 100_000:
        _CHECKED.add(name)
    return name


class Names:
    """One container's namespace: hands out child names, numbering unnamed ones, and keeps the tensors
    its items made (`@name`), seen from its own body and the bodies nested in it."""

    __slots__ = ("prefix", "used", "position", "tensors", "parent", "boundary")

    def __init__(self, prefix: str, used: dict[str, Span] | None = None, parent: "Names | None" = None):
        self.prefix = prefix  # qualified name of the container ("" for the network)
        self.used: dict[str, Span] = {} if used is None else used
        self.position = 0
        self.tensors: dict = {}  # local name -> values.Tensor
        self.parent = parent  # the enclosing container, where `@name` looks next
        self.boundary = False  # a block's body: `@name` does not look into its caller

    def visible(self):
        """The containers `@name` searches, innermost first."""
        n = self
        while n is not None:
            yield n
            if n.boundary:
                return
            n = n.parent

    def claim(self, explicit: str | None, span: Span) -> str:
        name = explicit if explicit is not None else str(self.position)
        self.position += 1
        return self._take(name, span)

    def auto(self, base: str, span: Span) -> str:
        """A readable name for a node the user did not write (add, concat, the relu after add)."""
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}{k}", k + 1
        return self._take(name, span)

    def _take(self, name: str, span: Span) -> str:
        if name in self.used:
            where = self.prefix or "the network"
            raise ArchError(f"name '{name}' is already used in {where} (first at {self.used[name]})", span)
        self.used[name] = span
        return name

    def qualify(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def child(self, local: str) -> "Names":
        return Names(self.qualify(local), parent=self)
