"""Safe output files: written beside the target, then renamed into place.

A failing or interrupted write never leaves a half-written file and never
replaces a good one. The target must be a regular file or not exist yet: a
directory, a device (`/dev/full`), a FIFO or a socket is refused, and so is a
symbolic link unless the caller asks to follow it (then the link's target is
written, and the link stays). New files get the usual mode (0666 less the
umask), not the temporary file's 0600.

Temporary names carry the writer's process id (`.model.onnx.4242.k3j9.tmp`);
a write sweeps the temporaries that dead processes left beside its target
(a SIGKILL cannot be cleaned up at the time), and SIGTERM/SIGHUP during a
write unwind like Ctrl-C, so their temporaries are removed at once.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import ArchError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def checked_target(target: str | os.PathLike, follow_symlinks: bool = False) -> Path:
    """The path to replace for `target`, or a one-line ArchError saying why it may not be written."""
    target = Path(target)
    if target.name in ("", ".", ".."):
        raise ArchError(f"cannot write '{target}': name a file, not a folder")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise ArchError(f"cannot write '{target}': {err.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        if not follow_symlinks:
            raise ArchError(f"cannot write '{target}': it is a symbolic link (pass --follow-symlinks to write "
                            f"the file it points to)")
        resolved = Path(os.path.realpath(target))
        if resolved.exists() and not resolved.is_file():
            raise ArchError(f"cannot write '{target}': it links to '{resolved}', which is not a regular file")
        return checked_target(resolved)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ArchError(f"cannot write '{target}': it is a folder")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ArchError(f"cannot write '{target}': it exists and is not a regular file (a device, FIFO or socket)")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ArchError(f"cannot write '{target}': folder '{folder}' does not exist")
    return target


def sweep_stale(folder: Path, name: str) -> None:
    """Remove `.NAME.PID.*.tmp` files and folders whose writing process no longer exists."""
    prefix = f".{name}."
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid = entry.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


class _Interrupted(SystemExit):
    """SIGTERM or SIGHUP during a write: unwind (removing temporaries), then exit 128 + signal."""


@contextmanager
def signals_unwind():
    """While writing, turn SIGTERM/SIGHUP into an exception so `finally` blocks clean up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def unwind(signum, frame):
        raise _Interrupted(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, unwind)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def temporary_name(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def finish(tmp: Path, target: Path) -> None:
    """Give `tmp` a new file's usual mode (the target's own, if it exists) and rename it over `target`."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, target)


@contextmanager
def atomic_path(target: str | os.PathLike, follow_symlinks: bool = False):
    """Yield a temporary path in the target's folder; on success rename it to `target`.

        with atomic_path("model.onnx") as tmp:
            onnx.save(model, tmp)       # any exception: tmp is removed, model.onnx untouched
    """
    target = checked_target(target, follow_symlinks)
    folder = target.parent if str(target.parent) else Path(".")
    sweep_stale(folder, target.name)
    with signals_unwind():
        try:
            fd, tmp = tempfile.mkstemp(prefix=temporary_name(target), suffix=".tmp", dir=folder)
        except OSError as err:
            raise ArchError(f"cannot write '{target}': {err.strerror}") from None
        os.close(fd)
        try:
            yield Path(tmp)
            finish(Path(tmp), target)
        except OSError as err:
            _remove(tmp)
            raise ArchError(f"cannot write '{target}': {err.strerror or err}") from None
        except BaseException:
            _remove(tmp)
            raise


def _remove(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def atomic_write(target: str | os.PathLike, data: str | bytes, follow_symlinks: bool = False) -> None:
    with atomic_path(target, follow_symlinks) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
