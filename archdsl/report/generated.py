"""Files generated from the code (docs/zoo.md, docs/language.md's tables): write them, or check they are current."""
from __future__ import annotations

import sys
from pathlib import Path

from ..files import atomic_write


def write_or_check(target: Path, text: str, check: bool, command: str) -> int:
    """Exit status: with `check`, 1 when `target` differs from `text`; else write it."""
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run `{command}`", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    atomic_write(target, text)
    print(f"wrote {target} ({text.count(chr(10))} lines)")
    return 0
