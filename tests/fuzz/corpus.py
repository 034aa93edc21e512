"""The regression corpus: tests/fuzz/regressions/<outcome>_<hash>.arch|.yaml, plus cases.json.

Each file holds the exact text of a case that failed (minimised); cases.json
records, per file, what `run_case` needs to replay it (the name the spec was
loaded under and the folder its imports resolve from) and how it failed
when it was found. A file without an entry (one added by hand) is replayed
under its own path, with imports resolved from its folder.

Texts may hold lone surrogates (the mutators insert U+D800), so files are
written and read as UTF-8 with `surrogatepass`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .cases import Case
from .runner import Outcome
from .seeds import ROOT

REGRESSIONS = ROOT / "tests" / "fuzz" / "regressions"
MANIFEST = REGRESSIONS / "cases.json"
SUFFIXES = {".arch": "arch", ".yaml": "yaml", ".yml": "yaml"}
REPLAY_TIMEOUT = 5.0  # seconds per case when the corpus is replayed (and when a case is minimised for it)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def file_name(case: Case, outcome: Outcome) -> str:
    digest = hashlib.sha1(_encode(case.text) + case.name.encode()).hexdigest()[:12]
    return f"{outcome.kind}_{digest}{'.yaml' if case.fmt == 'yaml' else '.arch'}"


def read_manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def save(entries: list[tuple[Case, Outcome]]) -> list[Path]:
    """Write each failing case into the corpus (once per distinct text) and record it in cases.json."""
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest()
    written = []
    for case, outcome in entries:
        name = file_name(case, outcome)
        path = REGRESSIONS / name
        path.write_bytes(_encode(case.text))
        manifest[name] = {"name": case.name, "base_dir": case.base_dir, "format": case.fmt,
                          "outcome": outcome.kind, "signature": outcome.signature(), "origin": case.origin,
                          "message": outcome.message[:200]}
        written.append(path)
    MANIFEST.write_text(json.dumps(dict(sorted(manifest.items())), indent=1, ensure_ascii=True) + "\n")
    return written


def load() -> list[Case]:
    """Every corpus file as a Case, in file-name order."""
    manifest = read_manifest()
    cases = []
    for i, path in enumerate(sorted(p for p in REGRESSIONS.iterdir() if p.suffix in SUFFIXES)):
        entry = manifest.get(path.name, {})
        rel = str(path.relative_to(ROOT))
        cases.append(Case(index=i, origin=rel, text=path.read_bytes().decode("utf-8", "surrogatepass"),
                          fmt=entry.get("format", SUFFIXES[path.suffix]), name=entry.get("name", rel),
                          base_dir=entry.get("base_dir", str(path.parent.relative_to(ROOT)))))
    return cases
