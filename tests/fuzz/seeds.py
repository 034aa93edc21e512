"""The seed corpus: every spec in specs/ (recursively) and every example, with how to load it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC_SUFFIXES = {".arch": "arch", ".yaml": "yaml", ".yml": "yaml"}


@dataclass(frozen=True)
class Seed:
    """One spec file: its text and the arguments `archdsl.loads` needs to load it as itself."""

    name: str  # relative to ROOT, as error messages show it: "specs/cifar/resnet110.arch"
    text: str
    fmt: str  # "arch" or "yaml"
    base_dir: str  # the file's own folder (imports resolve from there), relative to ROOT


def _seed(path: Path) -> Seed:
    return Seed(name=str(path.relative_to(ROOT)), text=path.read_text(encoding="utf-8"),
                fmt=SPEC_SUFFIXES[path.suffix], base_dir=str(path.parent.relative_to(ROOT)))


@lru_cache(maxsize=1)
def load_seeds() -> tuple[Seed, ...]:
    """All seeds in a fixed order (sorted by path), so case numbers mean the same spec on every run."""
    paths = sorted((ROOT / "specs").rglob("*.arch"))
    paths += sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in SPEC_SUFFIXES)
    return tuple(_seed(p) for p in paths)
