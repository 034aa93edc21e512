"""Reading spec files and resolving imports into one Program.

`import "family.arch"` is resolved relative to the importing file. An
importing file's declarations override the imported ones of the same name
(a thin `resnet50.arch` sets `param depth = 50` over the family's default).
Import cycles and missing files are located errors.
"""
from __future__ import annotations

from pathlib import Path

from . import ast_nodes as A
from .errors import ArchError, Span
from .parser import parse_text
from .yaml_form import parse_yaml

YAML_SUFFIXES = (".yaml", ".yml")


def parse_source(text: str, file: str, format: str) -> A.SpecFile:
    if format == "yaml":
        return parse_yaml(text, file)
    if format == "arch":
        return parse_text(text, file)
    raise ArchError(f"unknown spec format {format!r}; expected 'arch' or 'yaml'")


def format_of(path: str) -> str:
    return "yaml" if path.lower().endswith(YAML_SUFFIXES) else "arch"


def _display(path: Path) -> str:
    """A path as users wrote it: relative to the working directory where possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_file(path: str | Path, span: Span | None = None) -> A.SpecFile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArchError(f"cannot find spec file '{path}'", span) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ArchError(f"cannot read spec file '{path}': {err}", span) from None
    return parse_source(text, _display(p), format_of(str(p)))


def load_program(path: str | Path) -> A.Program:
    """Parse `path` and everything it imports into one Program."""
    root = read_file(path)
    return resolve(root, Path(path).resolve().parent, [Path(path).resolve()])


def program_from_text(text: str, format: str = "arch", name: str = "<string>") -> A.Program:
    spec = parse_source(text, name, format)
    return resolve(spec, Path.cwd(), [])


def resolve(spec: A.SpecFile, base_dir: Path, stack: list[Path]) -> A.Program:
    merged = _merge_into_empty(spec, base_dir, stack)
    name = spec.arch_name[0] if spec.arch_name else Path(spec.path).stem
    if merged["network"] is None:
        raise ArchError("the spec has no `network { ... }` (and imports none)", spec.span)
    return A.Program(
        name=name,
        main_path=spec.path,
        params=tuple(merged["params"].values()),
        lets=tuple(merged["lets"].values()),
        input=merged["input"],
        blocks=merged["blocks"],
        network=merged["network"],
    )


def _merge_into_empty(spec: A.SpecFile, base_dir: Path, stack: list[Path]) -> dict:
    merged = {"params": {}, "lets": {}, "blocks": {}, "input": None, "network": None}
    for imp in spec.imports:
        target = (base_dir / imp.path).resolve()
        if target in stack:
            chain = " -> ".join(p.name for p in stack[stack.index(target) :] + [target])
            raise ArchError(f"import cycle: {chain}", imp.span)
        imported = read_file(target, imp.span) if target.exists() else None
        if imported is None:
            raise ArchError(f"cannot find imported file '{imp.path}' (looked for {_display(target)})", imp.span)
        _overlay(merged, _merge_into_empty(imported, target.parent, stack + [target]))
    own = {
        "params": {p.name: p for p in spec.params},
        "lets": {x.name: x for x in spec.lets},
        "blocks": {b.name: b for b in spec.blocks},
        "input": spec.input,
        "network": spec.network,
    }
    _overlay(merged, own)
    return merged


def _overlay(base: dict, top: dict) -> None:
    for key in ("params", "lets", "blocks"):
        base[key].update(top[key])  # dict keeps the first position, takes the new value
    for key in ("input", "network"):
        if top[key] is not None:
            base[key] = top[key]
