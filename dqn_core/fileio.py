"""Safe file writing: a crash, a kill or a full disk mid-save leaves the previous file intact; nothing is left behind.

Every file the app and CLI write goes through `atomic_writer`: a temporary file in the target's folder, fsynced and
renamed over the target. The temporary file's name carries the writer's process id, so a later save to the same
folder can tell the leftovers of a killed save (their writer is gone) from a save still under way in another process.
The written file gets the mode a plain `open()` would give it: the user's umask for a new file, the old mode for a
file it replaces.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

TMP_SUFFIX = ".dqnstudio-tmp"
# .<start of the target's name>.<pid>-<random>.dqnstudio-tmp: only files of this shape are ever removed.
_TMP_PATTERN = re.compile(r"^\..*\.(\d+)-[0-9a-f]{8}" + re.escape(TMP_SUFFIX) + "$")
_TMP_NAME_CHARS = 80              # keeps the temporary name short even when the target's name is near the limit
STALE_SECONDS = 24 * 3600         # a temporary file this old is a leftover whatever its process id says


class OutputPathError(ValueError):
    """An output path cannot be written; the message names the option, the path and why."""


def current_umask() -> int:
    """The process's umask, read without changing it where the platform allows (changing it races other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """An existing regular file keeps its permission bits; a new one gets 0666 less the umask, as open() would."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~current_umask()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True                # someone else's process: not ours to judge
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files that interrupted saves left in `folder`: ours by name, and either their writer
    process is gone or they are over a day old. Returns what was removed; never raises."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TMP_PATTERN.match(entry.name)
        if not match:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if old or not _pid_alive(int(match.group(1))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file in the target's folder; on success it is fsynced, given the target's mode and renamed
    over `path`. On any exception the temporary file is removed and `path` is untouched."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temporaries(folder)
    mode = _mode_for(path)
    tmp = folder / f".{path.name[:_TMP_NAME_CHARS]}.{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable where the platform allows opening folders.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    with atomic_writer(path) as handle:
        write(handle)


def check_output_path(path: str | None, option: str) -> Path | None:
    """Raise OutputPathError unless `path` can be written as a file: not empty, not a folder or a device, its folder
    there and writable, its name within the file system's limit. None (option not given) passes."""
    if path is None:
        return None
    if not str(path).strip():
        raise OutputPathError(f"{option} = '' is invalid: a file name is needed")
    target = Path(path).expanduser()
    folder = target.absolute().parent
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX") if folder.is_dir() else 255
    except (OSError, ValueError, AttributeError):
        limit = 255
    if len(target.name.encode("utf-8", "surrogateescape")) > limit:
        raise OutputPathError(f"{option} is invalid: the file name is {len(target.name)} characters long; this file "
                              f"system allows at most {limit}")
    if target.is_dir():
        raise OutputPathError(f"{option} = {str(path)!r} is invalid: it is a folder, not a file")
    if target.exists() and not target.is_file():
        raise OutputPathError(f"{option} = {str(path)!r} is invalid: it exists and is not a regular file "
                              "(a device, pipe or socket); it is never replaced")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise OutputPathError(f"{option} = {str(path)!r} is invalid: its folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} = {str(path)!r} is invalid: its folder {folder} is not writable")
    return target


def check_distinct(paths: dict[str, str | None]) -> None:
    """Raise OutputPathError when two options name the same file (one would overwrite the other)."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        resolved = Path(path).expanduser().resolve()
        if resolved in seen:
            raise OutputPathError(f"{option} = {str(path)!r} is invalid: {seen[resolved]} writes the same file")
        seen[resolved] = option
