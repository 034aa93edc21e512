"""`archdsl check` and `archdsl info`: tables, JSON, options."""
import json

import pytest

from conftest import ROOT


def test_check(cli):
    code, out, err = cli("check", "specs/resnet18.arch")
    assert code == 0 and err == ""
    assert out.strip() == "specs/resnet18.arch: ok: resnet18, 70 nodes, 11,689,512 params, 1,814,073,344 MACs"


def test_info_table_has_every_layer_stage_totals_and_totals(cli):
    code, out, _ = cli("info", "specs/resnet152.arch")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "resnet152  3x224x224 -> 1000"
    assert any(l.startswith("layer3.35.conv3 ") and "1024x14x14" in l for l in lines)
    layer3_total = next(l for l in lines if l.startswith("layer3 total"))
    assert "bottleneck" not in layer3_total and "stage total" in layer3_total
    total = next(l for l in lines if l.startswith("total "))
    assert "60,192,808" in total and "11,513,626,624" in total
    assert lines[-1].startswith("params 60,192,808 (60.19M)  MACs 11,513,626,624 (11.51G)  FLOPs 23,027,253,248")
    assert lines[-1].endswith("depth 152")


def test_info_levels(cli):
    _, out, _ = cli("info", "specs/resnet50.arch", "--level", "stage")
    assert any(l.startswith("layer3 ") and "bottleneck x 6" in l and "7,098,368" in l for l in out.splitlines())
    _, out, _ = cli("info", "specs/resnet50.arch", "--level", "block", "--per-position")
    row = next(l for l in out.splitlines() if l.startswith("layer1.1 "))
    assert row.split("│")[-1].strip() == "69,632"


def test_info_json(cli):
    code, out, _ = cli("info", "specs/resnet50.arch", "--json")
    data = json.loads(out)
    for key in ("name", "input_shape", "output_shape", "params", "macs", "flops", "depth", "layers"):
        assert key in data
    assert data["input_shape"] == [3, 224, 224] and data["output_shape"] == [1000]
    assert (data["params"], data["macs"], data["flops"], data["depth"]) == (25_557_032, 4_089_184_256, 8_178_368_512, 50)
    first = data["layers"][0]
    assert first == {"name": "conv1", "op": "conv", "output_shape": [64, 112, 112], "params": 9408, "macs": 118_013_952}
    assert sum(l["params"] for l in data["layers"]) == data["params"]
    assert [s["name"] for s in data["stages"]] == ["layer1", "layer2", "layer3", "layer4"]


def test_info_elementwise_option(cli):
    _, out, _ = cli("info", "specs/cifar/resnet20.arch", "--json", "--elementwise")
    data = json.loads(out)
    assert data["macs"] == 40_551_040
    assert data["elementwise_ops"] == sum(l["elementwise_ops"] for l in data["layers"]) > 0
    _, out, _ = cli("info", "specs/cifar/resnet20.arch", "--elementwise")
    assert "Elementwise" in out.splitlines()[1] and "MACs + elementwise" in out.splitlines()[-1]


@pytest.mark.parametrize("args, params, output", [
    (("-p", "depth=101"), 44_549_160, "1000"),
    (("-p", "classes=10"), 23_528_522, "10"),
    (("--input", "3x320x320"), 25_557_032, "1000"),
])
def test_overrides(cli, args, params, output):
    code, out, _ = cli("info", "specs/resnet50.arch", "--json", *args)
    data = json.loads(out)
    assert data["params"] == params and data["output_shape"] == [int(output)]


def test_input_override_errors(cli):
    code, _, err = cli("info", "specs/resnet50.arch", "--input", "3x-1x2")
    assert code == 2 and "--input expects CxHxW" in err


# ---------------------------------------------------------------- every command honours every common option

COMMANDS = {
    "check": (),
    "info": ("--json",),
    "paths": ("--json",),
    "compile": ("--target", "torch", "-o", "{tmp}/m.py"),
    "render": ("-o", "{tmp}/m.dot"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_takes_every_common_option(cli, tmp_path, command):
    extra = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    code, _, err = cli(command, "specs/cifar/resnet20.arch", "-p", "depth=32", "--input", "3x64x64",
                       "--drop", "layer2.1", "--import-path", tmp_path, *extra)
    assert code == 0, err
    code, _, err = cli(command, "specs/cifar/resnet20.arch", "--column", "99", *extra)
    assert code == 2 and "<--column>:1:1: error: there is no fractal" in err, err


def test_compare_honours_column_and_drop(cli):
    code, _, err = cli("compare", "specs/cifar/fractalnet20.arch", "specs/cifar/fractalnet20.arch", "--column", "99")
    assert code == 2 and "column 99 does not exist" in err
    assert err.splitlines()[0].startswith("specs/families/fractalnet_cifar.arch:") and "^" in err
    code, out, _ = cli("compare", "specs/cifar/resnet20.arch", "specs/cifar/resnet20.arch", "--drop", "layer1.0")
    assert code == 0 and out.splitlines()[-1].startswith("equal")


@pytest.mark.parametrize("option, value, fragment", [
    ("-p", "depth", "-p expects NAME=VALUE"),
    ("-p", "depth=" + "9" * 5000, "integer literal of 5,000 digits is too large"),
    ("--input", "3x2", "--input expects CxHxW"),
    ("--column", "-1", "--column expects a non-negative integer"),
    ("--drop", "nowhere", "no block 'nowhere'"),
])
def test_option_mistakes_are_located_in_the_option(cli, option, value, fragment):
    code, _, err = cli("info", "specs/cifar/resnet20.arch", option, value)
    assert code == 2 and fragment in err and "Traceback" not in err, err
    first, shown, caret = err.splitlines()[:3]
    assert first.startswith("<") and ":1:" in first
    assert shown.startswith("    1 | ") and value.partition("=")[2 if option == "-p" and "=" in value else 0][:40] in shown
    assert caret.lstrip().startswith("| ") and "^" in caret


def test_seed_must_be_a_non_negative_integer(cli, tmp_path):
    code, _, err = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "--seed", "-1", "-o", tmp_path / "m.onnx")
    assert code == 2 and "--seed expects a non-negative integer" in err
    assert list(tmp_path.iterdir()) == []



def test_compile_to_standard_output(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = str(ROOT / "specs/cifar/resnet20.arch")
    code, out, _ = cli("compile", spec, "--target", "torch", "-o", "-")
    assert code == 0 and out.startswith('"""resnet20: generated by archdsl') and "class Resnet20(" in out
    code, _, err = cli("compile", spec, "--target", "onnx", "-o", "-")
    assert code == 2 and "for ONNX name a file" in err
    assert list(tmp_path.iterdir()) == []  # no file called "-"

def test_a_bare_word_is_a_string_parameter(cli, spec_file):
    path = spec_file('arch t\nparam version = "1_0"\ninput 3x8x8\nnetwork { relu }\n')
    assert cli("check", path, "-p", "version=1_1")[0] == 0
    assert cli("check", path, "-p", 'version="1_1"')[0] == 0


def test_version_and_standard_input(cli, monkeypatch, capsys):
    import io
    import sys

    with pytest.raises(SystemExit) as done:
        cli("--version")
    assert done.value.code == 0 and capsys.readouterr().out.startswith("archdsl ")
    monkeypatch.setattr(sys, "stdin", io.StringIO("arch t\ninput 3x8x8\nnetwork { conv(4, 3) }\n"))
    code, out, err = cli("check", "-")
    assert code == 0 and "112 params" in out, err


def test_an_ascii_terminal_gets_no_traceback():
    import os
    import subprocess
    import sys


    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([sys.executable, "-m", "archdsl.cli", "info", "specs/cifar/resnet20.arch"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "\\u2502" in proc.stdout or "|" in proc.stdout
