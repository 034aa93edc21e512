"""Reading spec files and resolving imports into one Program.

`import "family.arch"` is resolved relative to the importing file, then in each
folder of the import path. An importing file's declarations override the
imported ones of the same name (a thin `resnet50.arch` sets `param depth = 50`
over the family's default). Import cycles and missing files are located errors.

Imports are confined: the file found must lie inside the main spec's folder
tree, archdsl's own `specs/` library, or a folder of the import path the user
passed (`--import-path DIR`, `load(..., import_path=[...])`), after symbolic
links and `..` are resolved; it must be a regular `.arch`/`.yaml`/`.yml` file
of at most MAX_SPEC_BYTES. Anything else is an error at the `import` line that
shows nothing of the file, so a spec from elsewhere cannot make archdsl read or
echo `/etc/passwd`, `/proc/self/environ` or `/dev/zero`.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from . import ast as A
from ..errors import ArchError, Span, register_source
from .parser import parse_text
from .yaml_form import parse_yaml

YAML_SUFFIXES = (".yaml", ".yml")
SPEC_SUFFIXES = (".arch",) + YAML_SUFFIXES
MAX_SPEC_BYTES = 64 * 1024  # the largest spec in the library is ~5 KB; parsing 64 KiB of dense items takes ~1 s
LIBRARY = Path(__file__).resolve().parents[2] / "specs"  # the repository's spec library


def parse_source(text: str, file: str, format: str) -> A.SpecFile:
    if format == "yaml":
        return parse_yaml(text, file)
    if format == "arch":
        return parse_text(text, file)
    raise ArchError(f"unknown spec format {format!r}; expected 'arch' or 'yaml'")


def format_of(path: str) -> str:
    return "yaml" if path.lower().endswith(YAML_SUFFIXES) else "arch"


def display(path: Path) -> str:
    """A path as users wrote it: relative to the working directory where possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def too_large(what: str, size: str, span: Span | None, file: str | None, head) -> ArchError:
    """The refusal of a spec over MAX_SPEC_BYTES: at `span` (an import), else at the text's first line."""
    if span is None and file is not None:
        head = head if isinstance(head, str) else head.decode("utf-8", "replace")
        register_source(file, head[:4096].split("\n", 1)[0])
        span = Span(file, 1, 1)
    return ArchError(f"{what} is {size}; a spec may have at most {MAX_SPEC_BYTES:,} bytes", span)


def read_text(path: Path, what: str, span: Span | None = None) -> str:
    """The UTF-8 text of a regular spec file, at most MAX_SPEC_BYTES; a located error otherwise."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ArchError(f"cannot find {what} '{path}'", span) from None
    except OSError as err:
        raise ArchError(f"cannot read {what} '{path}': {err.strerror}", span) from None
    if not stat.S_ISREG(info.st_mode):
        raise ArchError(f"cannot read {what} '{path}': not a regular file", span)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as err:
        raise ArchError(f"cannot read {what} '{path}': {err.strerror}", span) from None
    if len(data) > MAX_SPEC_BYTES:
        size = f"{info.st_size:,} bytes" if info.st_size > MAX_SPEC_BYTES else f"over {MAX_SPEC_BYTES:,} bytes"
        raise too_large(f"{what} '{path}'", size, span, display(path), data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ArchError(f"{what} '{path}' is not UTF-8 text (byte {err.start})", span) from None


def read_file(path: str | Path, span: Span | None = None, what: str = "spec file") -> A.SpecFile:
    p = Path(path)
    text = read_text(p, what, span)
    return parse_source(text, display(p), format_of(str(p)))


class Imports:
    """Where imports may come from: the roots they must lie in, and the folders searched."""

    def __init__(self, main_dir: Path, import_path=()):
        self.parsed: dict[Path, A.SpecFile] = {}  # each file is read and parsed once per load
        self.search = [Path(d).resolve() for d in import_path]
        roots = [main_dir.resolve(), *self.search]
        if LIBRARY.is_dir():
            roots.append(LIBRARY)
        self.roots = roots

    def allowed(self, path: Path) -> bool:
        return any(path == root or root in path.parents for root in self.roots)

    def find(self, imp: A.Import, base_dir: Path) -> Path:
        if "\0" in imp.path or not _is_path(imp.path) or not imp.path.lower().endswith(SPEC_SUFFIXES):
            raise ArchError(f"cannot import '{_printable(imp.path)}': an import names a .arch, .yaml or .yml spec file",
                            imp.span)
        candidates = [(base_dir / imp.path).resolve()] + [(d / imp.path).resolve() for d in self.search]
        inside = [c for c in candidates if self.allowed(c)]
        for c in inside:
            if c.exists():
                return c
        if not inside:
            raise ArchError(
                f"cannot import '{_printable(imp.path)}': it lies outside the spec's folder and archdsl's specs/ "
                f"library (add its folder with --import-path DIR to allow it)", imp.span)
        raise ArchError(f"cannot find imported file '{_printable(imp.path)}' (looked for {display(inside[0])})",
                        imp.span)


def _is_path(text: str) -> bool:
    """Whether the file system can take `text` as a path (a lone surrogate such as "\\ud800" it cannot)."""
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def load_program(path: str | Path, import_path=()) -> A.Program:
    """Parse `path` (or standard input for "-") and everything it imports into one Program."""
    if str(path) == "-":
        import sys

        text = sys.stdin.read(MAX_SPEC_BYTES + 1)
        return program_from_text(text, "arch", "<stdin>", import_path)
    root = read_file(path)
    main = Path(path).resolve()
    return resolve(root, main.parent, [main], Imports(main.parent, import_path))


def program_from_text(text: str, format: str = "arch", name: str = "<string>", import_path=(),
                      base_dir: str | Path | None = None) -> A.Program:
    """A Program from spec text; its imports resolve from `base_dir` (default: the working directory)."""
    if len(text) > MAX_SPEC_BYTES:
        raise too_large(name, f"{len(text):,} characters", None, name, text)
    spec = parse_source(text, name, format)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return resolve(spec, base, [], Imports(base, import_path))


def resolve(spec: A.SpecFile, base_dir: Path, stack: list[Path], imports: Imports) -> A.Program:
    merged = _merge_into_empty(spec, base_dir, stack, imports)
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
        output=merged["output"],
        more_inputs=merged["more_inputs"],
    )


MAX_IMPORT_DEPTH = 32


def _merge_into_empty(spec: A.SpecFile, base_dir: Path, stack: list[Path], imports: Imports) -> dict:
    merged = {"params": {}, "lets": {}, "blocks": {}, "input": None, "network": None, "output": None,
              "more_inputs": ()}
    done: set[Path] = set()
    for imp in spec.imports:
        target = imports.find(imp, base_dir)
        if target in done:
            continue  # importing a file twice adds nothing
        done.add(target)
        if target in stack:
            chain = " -> ".join(p.name for p in stack[stack.index(target) :] + [target])
            raise ArchError(f"import cycle: {chain}", imp.span)
        if len(stack) >= MAX_IMPORT_DEPTH:
            raise ArchError(f"imports nest more than {MAX_IMPORT_DEPTH} files deep", imp.span)
        imported = imports.parsed.get(target)
        if imported is None:
            imported = imports.parsed[target] = read_file(target, imp.span, "imported file")
        _overlay(merged, _merge_into_empty(imported, target.parent, stack + [target], imports))
    own = {
        "params": {p.name: p for p in spec.params},
        "lets": {x.name: x for x in spec.lets},
        "blocks": {b.name: b for b in spec.blocks},
        "input": spec.input,
        "network": spec.network,
        "output": spec.output,
        "more_inputs": spec.more_inputs,
    }
    _overlay(merged, own)
    return merged


def _overlay(base: dict, top: dict) -> None:
    for key in ("params", "lets", "blocks"):
        base[key].update(top[key])  # dict keeps the first position, takes the new value
    if top["input"] is not None:  # an input declaration replaces all inputs
        base["more_inputs"] = top["more_inputs"]
    for key in ("input", "network", "output"):
        if top[key] is not None:
            base[key] = top[key]
