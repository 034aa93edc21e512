import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # spec paths in tests and error messages are relative to the project root

SPECS = sorted(p for p in (ROOT / "specs").rglob("*.arch"))
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".arch", ".yaml", ".yml"))


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from archdsl.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def spec_file(tmp_path):
    """Write a spec to a temporary file; returns its path."""

    def write(text: str, name: str = "t.arch") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
