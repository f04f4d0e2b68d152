"""Writing an agent file: plain state in (a JSON-ready dict and named arrays), a .dqn zip out, atomically.

The file is written to a temporary file beside the target and renamed over it, so an interrupted save leaves the
previous file intact; arrays are streamed in CHUNK_BYTES pieces, so saving a replay memory costs about 10 MiB beyond
the memory itself, not a second copy of it. Tensors are accepted as arrays are (copied to the CPU piece by piece).
"""
from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from dqn_core.agentfile.read import CHUNK_BYTES, META
from dqn_core.fileio import atomic_writer


def write_agent_file(path: str | Path, meta: dict[str, Any], arrays: dict[str, np.ndarray | torch.Tensor]) -> int:
    """Write `meta` (with each array's shape and dtype added) and `arrays` to `path`; return the file's size."""
    meta = dict(meta, arrays={name: {"shape": list(a.shape), "dtype": dtype_of(a).str} for name, a in arrays.items()})
    with atomic_writer(path) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(META, json.dumps(meta, indent=1, allow_nan=True))
            for name, array in arrays.items():
                with zf.open(f"arrays/{name}.npy", "w", force_zip64=True) as member:
                    write_npy(member, array)
    return Path(path).stat().st_size


def dtype_of(array: np.ndarray | torch.Tensor) -> np.dtype:
    if isinstance(array, torch.Tensor):
        return np.dtype(str(array.dtype).removeprefix("torch.").replace("bool", "bool_"))
    return array.dtype


def write_npy(handle: BinaryIO, array: np.ndarray | torch.Tensor) -> None:
    """One array in .npy format, written in CHUNK_BYTES pieces (a tensor on a GPU is copied piece by piece)."""
    dtype = dtype_of(array)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(array.shape)}
    np.lib.format.write_array_header_2_0(handle, header)
    rows = array.shape[0] if array.ndim else 1
    row_bytes = max(1, (math.prod(array.shape[1:]) if array.ndim else 1) * dtype.itemsize)
    step = max(1, CHUNK_BYTES // row_bytes)
    flat = array.reshape(1) if array.ndim == 0 else array
    for first in range(0, rows, step):
        piece = flat[first:first + step]
        if isinstance(piece, torch.Tensor):
            piece = piece.detach().cpu().numpy()
        handle.write(memoryview(np.ascontiguousarray(piece)).cast("B"))
