"""Writing an ONNX model: saved in a folder beside the target, checked with `full_check=True`, renamed into place.

Nothing is left behind on failure or interruption (archdsl.files: links and
devices refused, stale temporaries of dead writers swept, SIGTERM unwinds).
Models whose weights pass ~2 GB (or external_data=True) keep their tensors in
`<name>.data` beside the model.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import onnx

from archdsl.errors import ArchError
from archdsl.files import checked_target, finish, signals_unwind, sweep_stale, temporary_name
from archdsl.targets import OnnxOptions, OutputOptions

from .model import build_model

EXTERNAL_DATA_BYTES = 2**31 - 2**26  # protobuf's 2 GiB limit, less room for the graph itself


def write_model(model: onnx.ModelProto, path, external_data: bool | None = None, follow_symlinks: bool = False) -> Path:
    target = checked_target(path, follow_symlinks)
    folder = target.parent if str(target.parent) else Path(".")
    if external_data is None:
        external_data = sum(len(t.raw_data) for t in model.graph.initializer) > EXTERNAL_DATA_BYTES
    data_name = target.name + ".data"
    data_target = checked_target(folder / data_name) if external_data else None
    sweep_stale(folder, target.name)
    with signals_unwind():
        try:
            staging = Path(tempfile.mkdtemp(prefix=temporary_name(target), suffix=".tmp", dir=folder))
        except OSError as err:
            raise ArchError(f"cannot write '{target}': {err.strerror}") from None
        try:
            _save_checked(model, staging / target.name, target, data_name if external_data else None)
            if external_data:
                finish(staging / data_name, data_target)
            finish(staging / target.name, target)
        except OSError as err:
            raise ArchError(f"cannot write '{target}': {err.strerror or err}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _save_checked(model: onnx.ModelProto, staged: Path, target: Path, data_name: str | None) -> None:
    if data_name:
        onnx.save_model(model, staged, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
    else:
        onnx.save_model(model, staged)
    try:
        onnx.checker.check_model(str(staged), full_check=True)
    except onnx.checker.ValidationError as err:
        raise ArchError(f"the ONNX model for '{target}' fails onnx.checker (a bug in archdsl's ONNX "
                        f"emitters; nothing was written): {err}") from None


def write(arch, path, options: OnnxOptions = OnnxOptions(), output: OutputOptions = OutputOptions()) -> Path:
    """Build, check and write the ONNX model of `arch` (`arch.to_onnx`, `archdsl compile --target onnx`)."""
    checked_target(path, output.follow_symlinks)  # refuse a bad target before the work
    return write_model(build_model(arch, options), path, options.external_data, output.follow_symlinks)
