"""The package's shape: imports run one way along the pipeline, no cycles, small files and functions.

    shared (errors, values, files, version, targets, gcpause) < syntax < ops < ir < elaborate < passes
      < transforms < report < architecture < experiments < cli, zoo, the package root

A stage imports only earlier stages and the shared modules (every import
counts, also one inside a function). The core never imports the backends (it
reaches them through archdsl.targets); the backends import only the shared
modules, ops, ir, passes and transforms, and never the package root.
"""
import ast
from pathlib import Path

import pytest

from conftest import ROOT

SHARED = {"archdsl.errors", "archdsl.values", "archdsl.files", "archdsl.version", "archdsl.targets", "archdsl.gcpause"}
PIPELINE = ["archdsl.syntax", "archdsl.ops", "archdsl.ir", "archdsl.elaborate", "archdsl.passes",
            "archdsl.transforms", "archdsl.report", "archdsl.architecture", "archdsl.experiments", "archdsl.cli"]
TOP = {"archdsl.cli", "archdsl.zoo", "archdsl"}  # the last stage: the command line, the zoo and the lazy root
BACKEND_MAY_IMPORT = SHARED | {"archdsl.ops", "archdsl.ir", "archdsl.passes", "archdsl.transforms"}
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    found = {}
    for base, package in ((ROOT / "archdsl", "archdsl"), (ROOT / "backends", "archdsl.backends")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def imports(name: str, path: Path, known: dict) -> set[str]:
    """The archdsl modules `name` imports (relative imports resolved; `from X import m` names module X.m)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
    return {t for t in targets if t == "archdsl" or t.startswith("archdsl.")}


def stage(module: str) -> int:
    if module in SHARED:
        return -1
    if module in TOP and module != "archdsl.cli":
        return len(PIPELINE)
    for i, prefix in enumerate(PIPELINE):
        if module == prefix or module.startswith(prefix + "."):
            return i
    raise AssertionError(f"{module} is in no stage of the pipeline")


@pytest.fixture(scope="module")
def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_imports_run_along_the_pipeline(graph):
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            if module.startswith("archdsl.backends"):
                if not target.startswith("archdsl.backends") and not any(
                        target == t or target.startswith(t + ".") for t in BACKEND_MAY_IMPORT):
                    wrong.append(f"{module} -> {target} (backends import only {sorted(BACKEND_MAY_IMPORT)})")
            elif target.startswith("archdsl.backends"):
                wrong.append(f"{module} -> {target} (the core reaches backends through archdsl.targets)")
            elif target != "archdsl" and stage(target) > stage(module):
                wrong.append(f"{module} -> {target} (against the pipeline)")
            elif target == "archdsl" and module != "archdsl":
                wrong.append(f"{module} -> the package root")
    assert not wrong, "\n".join(sorted(wrong))


def test_there_are_no_import_cycles(graph):
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(module, trail):
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycle.extend(trail[trail.index(target):] + [target] if target in trail else [module, target])
                return True
            if state.get(target) is None and visit(target, trail + [target]):
                return True
        state[module] = 2
        return False

    for module in sorted(graph):
        if state.get(module) is None and visit(module, [module]):
            break
    assert not cycle, " -> ".join(cycle)


def test_files_and_functions_stay_small():
    long_files, long_functions = [], []
    for name, path in modules().items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_FILE_LINES:
            long_files.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not long_files, long_files
    assert not long_functions, long_functions


def _is_op(expr: ast.expr) -> bool:
    """`op`, `x.op`, `node`, `x.node(n)`, `g.node(n).op`...: an expression that is an op or an IR node."""
    text = ast.unparse(expr)
    last = text.rpartition(".")[2]
    return last in ("op", "node", "op_cls", "cls") or last.startswith("node(") or text.endswith(".op")


def test_no_code_compares_op_kind_strings():
    """Outside ops/ and the backends' lowering tables, code asks an op's traits, never `op.kind == "..."`."""
    allowed = {"archdsl.ops", "archdsl.backends.torch.lowering", "archdsl.backends.onnx.lowering"}
    leaks = []
    for name, path in modules().items():
        if any(name == a or name.startswith(a + ".") for a in allowed):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            on_op = any(isinstance(s, ast.Attribute) and s.attr in ("kind", "family") and _is_op(s.value)
                        for s in sides)
            literal = any(isinstance(s, (ast.Constant, ast.Tuple, ast.Set, ast.List)) for s in sides)
            if on_op and literal:
                leaks.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not leaks, "\n".join(leaks)
