"""The agent file format (.dqn): a zip of `meta.json` and `.npy` arrays, and its checked, bounded reading.

This module needs only numpy, so a file can be refused before torch is even imported: loading reads nothing it has
not bounded first — the member list, then meta.json (its declared size capped, its nesting limited), then each
array's declared size against its shape — and `read_arrays` inflates each array straight into an array of the
checked size. A file that declares gigabytes is refused before any of it is inflated. Building and filling an
agent from it is `checkpoint.load_agent`'s work.
"""
from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

FORMAT = "dqn-studio-agent"
VERSION = 1
META = "meta.json"
MAX_META_BYTES = 16 * 1024 * 1024
CHUNK_BYTES = 4 << 20       # arrays are read (and written) in pieces of this size
# ---- loading -----------------------------------------------------------------------------------------------------
# Loading reads nothing it has not bounded first: the member list, then meta.json (its declared size capped), then the
# config, which builds the agent and so fixes the shape of every array the file may hold; only then is each array
# decompressed, straight into an array of the checked size. A file that declares gigabytes is refused before any
# of it is inflated.


class AgentFileError(ValueError):
    """An agent file cannot be read or does not fit; the message names the file and the problem."""


MAX_MEMBERS = 10_000
MAX_JSON_DEPTH = 64
NPY_HEADER_MAX = 64 * 1024


class LoadCancelled(Exception):
    """The user cancelled a load; nothing was changed."""


def _json_depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


class AgentArchive:
    """An agent file opened for checked reading. Use as a context manager; every error is an AgentFileError."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(path)
        try:
            self._file = open(self.path, "rb")
        except IsADirectoryError:
            raise AgentFileError(f"{self.where}: is a folder, not an agent file") from None
        except OSError as exc:
            raise AgentFileError(f"{self.where}: cannot be read ({exc.strerror or exc})") from None
        try:
            size = os.fstat(self._file.fileno()).st_size
            if not stat.S_ISREG(os.fstat(self._file.fileno()).st_mode):
                raise AgentFileError(f"{self.where}: is not a regular file")
            if size == 0:
                raise AgentFileError(f"{self.where}: the file is empty")
            try:
                self.zip = zipfile.ZipFile(self._file)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                raise AgentFileError(f"{self.where}: not a DQN Studio agent file (not a zip archive, or truncated)") \
                    from None
            self.members = self._check_members()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> AgentArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()
        self._file.close()

    def _check_members(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise AgentFileError(f"{self.where}: holds {len(infos):,} members; an agent file has far fewer")
        members = {}
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
                raise AgentFileError(f"{self.where}: member {name!r} has an unsafe path; refused")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise AgentFileError(f"{self.where}: member {name!r} is a symbolic link; agent files hold only "
                                     "regular files, refused")
            if mode and (stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR)):
                raise AgentFileError(f"{self.where}: member {name!r} is a special file (device, pipe or socket); "
                                     "refused")
            if info.flag_bits & 0x1:
                raise AgentFileError(f"{self.where}: member {name!r} is encrypted; refused")
            members[name] = info
        return members

    def read_meta(self) -> dict[str, Any]:
        info = self.members.get(META)
        if info is None:
            raise AgentFileError(f"{self.where}: not a DQN Studio agent file (no {META})")
        if info.file_size > MAX_META_BYTES:
            raise AgentFileError(f"{self.where}: {META} declares {info.file_size:,} bytes; at most "
                                 f"{MAX_META_BYTES:,} are allowed")
        try:
            with self.zip.open(info) as member:
                data = member.read(MAX_META_BYTES + 1)     # never more than declared: zipfile stops at file_size
            meta = json.loads(data.decode("utf-8"))
        except RecursionError:
            raise AgentFileError(f"{self.where}: {META} is nested too deeply to be an agent file; refused") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AgentFileError(f"{self.where}: {META} is corrupt ({exc})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise AgentFileError(f"{self.where}: the file is corrupt or truncated ({exc})") from None
        if not _json_depth_ok(meta, MAX_JSON_DEPTH):
            raise AgentFileError(f"{self.where}: {META} is nested more than {MAX_JSON_DEPTH} levels deep; refused")
        _check_header(meta, self.where)
        manifest = meta.get("arrays")
        if not isinstance(manifest, dict) or not all(isinstance(v, dict) for v in manifest.values()):
            raise AgentFileError(f"{self.where}: the array list is missing or malformed")
        return meta

    def plan(self, manifest: dict[str, Any]) -> list[tuple[str, zipfile.ZipInfo, tuple[int, ...], np.dtype]]:
        """Check that every array the manifest lists is there, numeric, and declared by the zip at the size its
        shape needs (a member that would inflate to more is refused here, before anything else is built)."""
        where = self.where
        planned = []
        for name, info in manifest.items():
            member = self.members.get(f"arrays/{name}.npy")
            if member is None:
                raise AgentFileError(f"{where}: array {name!r} is missing (file truncated?)")
            shape, dtype = _declared(info, name, where)
            nbytes = math.prod(shape) * dtype.itemsize
            if member.file_size > nbytes + NPY_HEADER_MAX or member.file_size < nbytes:
                raise AgentFileError(f"{where}: array {name!r} declares {member.file_size:,} bytes for "
                                     f"{nbytes:,} bytes of data; refused")
            planned.append((name, member, shape, dtype))
        return planned

    def read_arrays(self, planned: list[tuple[str, zipfile.ZipInfo, tuple[int, ...], np.dtype]],
                    allowed: dict[str, tuple[tuple[Dim, ...], ...]], budget: int,
                    progress: Callable[[float], bool] | None = None) -> dict[str, np.ndarray]:
        """Every planned array, each checked against `allowed` (name → the shapes it may have) and all together
        against `budget` bytes, before it is inflated. `progress(fraction)` returning False cancels (LoadCancelled)."""
        where = self.where
        for name, _, shape, _ in planned:
            _check_shape(name, shape, allowed, where)
        total = sum(member.file_size for _, member, _, _ in planned)
        if total > budget:
            raise AgentFileError(f"{where}: its arrays declare {total:,} bytes, more than an agent with these "
                                 f"settings can hold ({budget:,}); refused")
        arrays: dict[str, np.ndarray] = {}
        done = 0
        for name, member, shape, dtype in planned:
            if progress is not None and not progress(done / max(total, 1)):
                raise LoadCancelled(f"{where}: loading was cancelled")
            arrays[name] = self._read_npy(member, name, shape, dtype)
            done += member.file_size
        return arrays

    def _read_npy(self, member: zipfile.ZipInfo, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        where = self.where
        try:
            with self.zip.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                got_shape, fortran, got_dtype = read_header(handle, max_header_size=NPY_HEADER_MAX)
                if got_dtype.hasobject:
                    raise AgentFileError(f"{where}: array {name!r} holds pickled Python objects; refused (agent "
                                         "files never contain code)")
                if tuple(got_shape) != shape or got_dtype != dtype or fortran:
                    raise AgentFileError(f"{where}: array {name!r} does not match its description "
                                         f"({tuple(got_shape)} {got_dtype})")
                array = np.empty(shape, dtype=dtype)
                view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")
                filled = 0
                while filled < len(view):
                    got = handle.readinto(view[filled:filled + CHUNK_BYTES])
                    if not got:
                        raise AgentFileError(f"{where}: array {name!r} is truncated")
                    filled += got
                if handle.read(1):
                    raise AgentFileError(f"{where}: array {name!r} has data beyond its shape")
        except AgentFileError:
            raise
        except ValueError as exc:
            raise AgentFileError(f"{where}: array {name!r} is corrupt ({exc})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise AgentFileError(f"{where}: array {name!r} is corrupt or truncated ({exc})") from None
        return array


def _declared(info: dict[str, Any], name: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    shape, descr = info.get("shape"), info.get("dtype")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise AgentFileError(f"{where}: array {name!r} has an invalid shape {shape!r}")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise AgentFileError(f"{where}: array {name!r} has an invalid dtype {descr!r}") from None
    if dtype.hasobject:
        raise AgentFileError(f"{where}: array {name!r} holds pickled Python objects; refused (agent files never "
                             "contain code)")
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise AgentFileError(f"{where}: array {name!r} is not numeric ({descr!r})")
    return tuple(shape), dtype


Dim = "int | range | None"      # an exact length, a range of lengths, or any length within the byte budget


def _check_shape(name: str, shape: tuple[int, ...], allowed: dict[str, tuple[tuple[Dim, ...], ...]],
                 where: str) -> None:
    options = allowed.get(name)
    if options is None:
        kind = name.split(".", 1)[0]
        raise AgentFileError(f"{where}: unexpected array {name!r}" +
                             (" (different network settings?)" if kind in ("q_net", "target_net", "optim") else ""))
    for option in options:
        if len(option) == len(shape) and all(o is None or (s in o if isinstance(o, range) else o == s)
                                              for o, s in zip(option, shape)):
            return
    expected = " or ".join(str(tuple("N" if o is None else f"≤{o.stop - 1}" if isinstance(o, range) else o
                                     for o in option)) for option in options)
    if name.startswith(("q_net.", "target_net.")):
        raise AgentFileError(f"{where}: tensor {name!r} has shape {shape}, the network expects {expected} "
                             "(different network settings?)")
    raise AgentFileError(f"{where}: array {name!r} has shape {shape}, expected {expected}")


def _check_header(meta: Any, where: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AgentFileError(f"{where}: not a DQN Studio agent file (format is not {FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise AgentFileError(f"{where}: the format version {version!r} is invalid")
    if version > VERSION:
        raise AgentFileError(f"{where}: written by a newer DQN Studio (format version {version}; this version reads "
                             f"up to {VERSION})")




def precheck(path: str | Path) -> dict[str, Any]:
    """Open, check and plan an agent file without building anything; return its meta. Raises AgentFileError."""
    with AgentArchive(path) as archive:
        meta = archive.read_meta()
        archive.plan(meta["arrays"])
    return meta
