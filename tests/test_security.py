"""Nothing gets in: no unpickled parser cache, no writes through links or devices, confined imports.

Each test plants what an attacker would and checks that archdsl neither runs
it, reads it, echoes it nor writes through it.
"""
import os
import pickle
import stat
import subprocess
import sys

import pytest

import archdsl
from archdsl.errors import ArchError
from conftest import ROOT, located

PAYLOAD_MARKER = "archdsl-pwned"


class _Payload:
    """Unpickling this creates a marker file: proof that a planted pickle ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _lark_cache_name(tmp_path) -> str:
    """The file name lark's `cache=True` would use for archdsl's grammar (found by letting lark write it)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    code = ("from lark import Lark; from archdsl.syntax.tables import GRAMMAR, OPTIONS; "
            "Lark(GRAMMAR.read_text(), cache=True, **OPTIONS)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "TMPDIR": str(probe)}, check=True)
    (name,) = [p.name for p in probe.iterdir() if p.name.startswith(".lark_cache")]
    return name


def test_a_planted_lark_cache_is_never_unpickled(tmp_path):
    shared_tmp = tmp_path / "shared_tmp"
    shared_tmp.mkdir()
    marker = tmp_path / PAYLOAD_MARKER
    planted = shared_tmp / _lark_cache_name(tmp_path)
    with open(planted, "wb") as f:  # lark's cache format: a hash line, then pickles
        f.write(b"0" * 64 + b"\n")
        pickle.dump(_Payload(marker), f)
        pickle.dump(_Payload(marker), f)
    proc = subprocess.run([sys.executable, "-m", "archdsl.cli", "check", "specs/resnet18.arch"], cwd=ROOT,
                          env={**os.environ, "TMPDIR": str(shared_tmp)}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), "the planted cache file was unpickled"


def test_loading_the_parser_never_unpickles_anything():
    code = ("import pickle\n"
            "def refuse(*a, **k): raise SystemExit('pickle used')\n"
            "pickle.load = pickle.loads = pickle.Unpickler = refuse\n"
            "import archdsl\n"
            "assert archdsl.load('specs/resnet50.arch').params == 25557032\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_shipped_parser_tables_are_current():
    from archdsl.syntax.tables import main

    assert main(["--check"]) == 0, "run `python -m archdsl.syntax.tables` after editing grammar.lark"


# ---------------------------------------------------------------- output targets


@pytest.mark.parametrize("command", [("compile", "--target", "torch"), ("compile", "--target", "onnx"), ("render",)])
def test_output_never_replaces_a_fifo_or_a_symlink(cli, tmp_path, command):
    fifo = tmp_path / "fifo.dot"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.dot"
    link.symlink_to(victim)
    for target, what in ((fifo, "not a regular file"), (link, "symbolic link")):
        code, _, err = cli(*command, "specs/cifar/resnet20.arch", "-o", target)
        assert code == 2 and what in err and "Traceback" not in err, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.path.islink(link) and victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.dot", "link.dot", "victim.txt"]  # nothing left behind


def test_a_device_target_is_refused_before_any_write():
    from archdsl.files import checked_target

    for device in ("/dev/null", "/dev/full", "/dev/zero"):
        if os.path.exists(device):
            with pytest.raises(ArchError, match="not a regular file"):
                checked_target(device)


def test_follow_symlinks_writes_the_linked_file_and_keeps_the_link(cli, tmp_path):
    real = tmp_path / "real.py"
    real.write_text("old")
    link = tmp_path / "model.py"
    link.symlink_to(real)
    code, _, err = cli("compile", "specs/cifar/resnet20.arch", "--target", "torch", "-o", link, "--follow-symlinks")
    assert code == 0, err
    assert os.path.islink(link) and "class Resnet20" in real.read_text()


@pytest.mark.parametrize("target", [".", "..", "/", "no_such_folder/x.py"])
def test_bad_output_paths_are_one_line_errors(cli, tmp_path, target, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("compile", ROOT / "specs/cifar/resnet20.arch", "--target", "torch", "-o", target)
    assert code == 2 and err.startswith("error: cannot write") and len(err.strip().splitlines()) == 1, err
    assert os.listdir(tmp_path) == []


def test_written_files_get_the_usual_mode(cli, tmp_path):
    old = os.umask(0o022)
    try:
        for command, name in ((("compile", "--target", "torch"), "m.py"), (("compile", "--target", "onnx"), "m.onnx"),
                              (("render",), "m.dot")):
            code, _, err = cli(*command, "specs/cifar/resnet20.arch", "-o", tmp_path / name)
            assert code == 0, err
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644, name
    finally:
        os.umask(old)


def test_stale_temporaries_of_dead_writers_are_swept(cli, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale_dir = tmp_path / f".m.onnx.{pid}.abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "m.onnx").write_bytes(b"partial")
    stale_file = tmp_path / f".m.py.{pid}.efgh.tmp"
    stale_file.write_text("partial")
    assert cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "-o", tmp_path / "m.onnx")[0] == 0
    assert cli("compile", "specs/cifar/resnet20.arch", "--target", "torch", "-o", tmp_path / "m.py")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.py"]


def test_sigterm_during_an_onnx_save_leaves_nothing_behind(tmp_path):
    code = ("import os, signal, onnx, archdsl\n"
            "real = onnx.save_model\n"
            "def save(*a, **k):\n"
            "    real(*a, **k)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "onnx.save_model = save\n"
            f"archdsl.load('specs/cifar/resnet20.arch').to_onnx({str(tmp_path / 'm.onnx')!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 128 + 15, proc.stderr
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- imports


def _spec(folder, text, name="t.arch"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "/dev/zero", "/etc/hostname.arch",
                                    "../outside.arch", "../../../../../../etc/x.arch"])
def test_imports_outside_the_spec_tree_are_refused_and_echo_nothing(cli, tmp_path, target):
    (tmp_path / "outside.arch").write_text("SECRET-CONTENT\n")
    path = _spec(tmp_path / "proj", f'import "{target}"\narch t\ninput 3x8x8\nnetwork {{ relu }}\n')
    code, out, err = cli("check", path)
    assert code == 2, err
    located(err, path, 1)
    assert "SECRET-CONTENT" not in err + out and "root:" not in err + out


def test_a_symlink_inside_the_tree_cannot_lead_out_of_it(cli, tmp_path):
    (tmp_path / "outside.arch").write_text("SECRET-CONTENT\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "lib.arch").symlink_to(tmp_path / "outside.arch")
    path = _spec(proj, 'import "lib.arch"\narch t\ninput 3x8x8\nnetwork { relu }\n')
    code, _, err = cli("check", path)
    assert code == 2 and "outside" in err and "SECRET-CONTENT" not in err, err


def test_import_path_allows_a_folder_explicitly(cli, tmp_path):
    _spec(tmp_path / "shared", "block unit(c) { conv(c, 3, padding=1) relu }\n", "lib.arch")
    path = _spec(tmp_path / "proj", 'import "lib.arch"\narch t\ninput 3x8x8\nnetwork { unit(4) }\n')
    assert cli("check", path)[0] == 2
    code, out, err = cli("check", path, "--import-path", tmp_path / "shared")
    assert code == 0, err
    arch = archdsl.load(path, import_path=[tmp_path / "shared"])
    assert arch.params == 4 * 3 * 9 + 4


def test_imports_within_the_tree_and_the_library_work(tmp_path):
    _spec(tmp_path / "proj" / "lib", "block unit(c) { conv(c, 1) }\n", "units.arch")
    path = _spec(tmp_path / "proj", 'import "lib/units.arch"\nimport "families/resnet.arch"\n'
                                    'arch t\nparam depth = 18\n')
    arch = archdsl.load(path, import_path=[ROOT / "specs"])
    assert arch.params == 11689512


# ---------------------------------------------------------------- models that were silently wrong


@pytest.mark.parametrize("body, empty", [
    ("residual { }", "{ }"),
    ("parallel { {} {} }", "{} {}"),
    ("parallel(merge=add) { identity {} }", "{} }"),
    ("multi_residual { {} conv(3, 1) }", "{} conv"),
    ("poly { {} }", "{} }"),
    ("dense { {} }", "{} }"),
    ("fractal(columns=2) { }", "{ }"),
])
def test_empty_branches_are_located_errors(expect_error, body, empty):
    expect_error(f"network {{\n  {body}\n}}\n", 4, 3 + body.index(empty), "empty")


def test_xception_with_no_repetitions_is_an_error_not_a_wrong_model(cli, tmp_path):
    text = (ROOT / "specs/xception.arch").read_text().replace("xblock(728, 3)", "xblock(728, 0)")
    path = tmp_path / "xception0.arch"
    path.write_text(text)
    code, _, err = cli("check", path)
    assert code == 2 and "residual branch is empty" in err, err
    located(err, path, 25)


def test_dunder_names_are_not_mangled_and_numbers_are_canonical(spec_file, cli):
    arch = archdsl.loads('arch t\ninput 3x8x8\nnetwork {\n "__w": conv(3, 1)\n s: { "__x": conv(3, 1) }\n}\n')
    torch = pytest.importorskip("torch")
    model = arch.to_torch()
    assert list(model.state_dict()) == ["__w.weight", "__w.bias", "s.__x.weight", "s.__x.bias"]
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    path = spec_file('arch t\ninput 3x8x8\nnetwork {\n s: { "007": conv(3, 1) "7": conv(3, 1) }\n}\n')
    code, _, err = cli("check", path)
    assert code == 2 and "leading zeros" in err
    located(err, path, 4, 7)


def test_names_with_a_final_newline_or_nul_are_refused():
    with pytest.raises(ArchError, match="not a valid layer name"):
        archdsl.loads('arch: t\ninput: 3x8x8\nnetwork:\n  - "a\\n": relu\n', format="yaml")
    with pytest.raises(ArchError, match="arch name"):
        archdsl.loads('arch: "a\\0b"\ninput: 3x8x8\nnetwork: [relu]\n', format="yaml")


def test_yaml_alias_bomb_is_refused():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    with pytest.raises(ArchError, match="aliases expand"):  # 9^9 values; the time is in bench/bench_fuzz.py
        archdsl.loads("\n".join(lines) + "\n", format="yaml")
