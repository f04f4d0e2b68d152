"""A run's metric series in binary beside `metrics.jsonl`: one file per kind of row, little-endian float64 columns
appended as the run trains, so that comparing runs reads them with one `numpy.fromfile` each instead of parsing
JSON (20 runs of 100k rows: seconds of parsing, milliseconds this way).

`metrics.jsonl` stays the run's record (older runs have only it; live changes are only there); these files are an
index of its numbers. A reader takes whole rows only (a killed writer's torn last row waits or stays out) and uses
them only when the kinds agree with the JSON lines' count as far as it can tell cheaply: where a series file is
missing, the JSON is parsed as before.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# kind -> (file name, columns); the Run's series dicts use these column names.
SERIES = {
    "episode": ("series-episodes.f64", ("step", "duration", "return", "wall")),
    "stats": ("series-stats.f64", ("step", "loss", "q", "epsilon")),
    "eval": ("series-evals.f64", ("step", "episode", "mean", "std", "wall")),
}
FILES = tuple(name for name, _ in SERIES.values())


def encode(kind: str, rows: list[tuple[float, ...]] | np.ndarray) -> bytes:
    """Rows of one kind as the bytes to append (NaN where a value is missing or not finite)."""
    columns = len(SERIES[kind][1])
    array = np.asarray(rows, dtype="<f8").reshape(-1, columns)
    return np.ascontiguousarray(array).tobytes()


def present(folder: Path) -> bool:
    return all((folder / name).exists() for name in FILES)


def read_from(folder: Path, offsets: dict[str, int]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, int]]:
    """The whole rows appended since `offsets` (bytes per file), by kind and column, and the new offsets. A file
    shorter than its offset (rewritten from the start) raises ValueError: the caller reads it anew."""
    out, new_offsets = {}, dict(offsets)
    for kind, (name, columns) in SERIES.items():
        path = folder / name
        start = offsets.get(name, 0)
        size = path.stat().st_size
        if size < start:
            raise ValueError(f"{name} was rewritten")
        row_bytes = 8 * len(columns)
        whole = (size - start) // row_bytes
        with open(path, "rb") as f:
            f.seek(start)
            data = np.fromfile(f, dtype="<f8", count=whole * len(columns)).reshape(whole, len(columns))
        new_offsets[name] = start + whole * row_bytes
        out[kind] = {column: data[:, i].astype(float) for i, column in enumerate(columns)}
    return out, new_offsets
