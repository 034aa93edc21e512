"""Shrink a failing case while it keeps failing the same way (same `Outcome.signature()`).

Delta debugging on lines, then, for a case that is still long, on chunks of
characters: try removing a chunk, keep the removal where the failure
persists, halve the chunk size, until single lines (or small chunks) have
been tried or the time budget is spent.
"""
from __future__ import annotations

import time
from dataclasses import replace

from .cases import Case
from .runner import run_case


def minimize(case: Case, signature: str, timeout: float, budget: float) -> Case:
    """The smallest variant of `case` found in `budget` seconds that still fails with `signature`."""
    end = time.monotonic() + budget

    def fails(text: str) -> bool:
        if time.monotonic() > end:
            return False
        return run_case(text, case.fmt, case.name, case.base_dir, timeout).signature() == signature

    lines = _shrink(case.text.split("\n"), lambda parts: fails("\n".join(parts)), end)
    text = "\n".join(lines)
    if len(text) > 400:
        chars = _shrink(list(text), lambda parts: fails("".join(parts)), end, smallest=max(1, len(text) // 200))
        text = "".join(chars)
    return replace(case, text=text)


def _shrink(parts: list, still_fails, end: float, smallest: int = 1) -> list:
    """ddmin-style: remove chunks of `parts` of decreasing size while `still_fails(rest)` holds."""
    size = max(smallest, len(parts) // 2)
    while size >= smallest and time.monotonic() < end:
        i = 0
        while i < len(parts) and time.monotonic() < end:
            candidate = parts[:i] + parts[i + size:]
            if candidate and still_fails(candidate):
                parts = candidate
            else:
                i += size
        if size == smallest:
            break
        size = max(smallest, size // 2)
    return parts
