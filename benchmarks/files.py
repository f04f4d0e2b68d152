"""Agent files under attack and under load: a zip bomb refused (time and peak memory, CLI and window), and the
extra memory a save of a large replay memory costs.

    python -m benchmarks.files [--replay 300000]

The zip bomb is a real agent file whose first network array is replaced by 5 GiB of declared zeros (about 5 MB
compressed; sizes and CRC correct). Each measurement runs in a fresh process; peak RSS is that process's own.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from benchmarks.common import table, write_results

BOMB_BYTES = 5 << 30                     # 5 GiB of zeros, declared


class ZeroBombCompressor:
    """Deflates a stream of zero chunks by repeating one fully flushed block: the same bytes a real compressor would
    produce (each flush resets its state), without compressing 5 GiB."""

    def __init__(self) -> None:
        self._real = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._zero_block: bytes | None = None

    def compress(self, data: bytes) -> bytes:
        if data.count(0) != len(data):
            return self._real.compress(data) + self._real.flush(zlib.Z_FULL_FLUSH)
        if self._zero_block is None:
            self._zero_block = self._real.compress(data) + self._real.flush(zlib.Z_FULL_FLUSH)
        return self._zero_block

    def flush(self) -> bytes:
        return self._real.flush()


def rewrite(src: Path, dst: Path, meta_change=None, members: dict | None = None, bomb: str | None = None,
            bomb_header_shape: tuple[int, ...] | None = None) -> None:
    """Copy an agent file, changing its meta.json, replacing members, or turning one array into a zip bomb whose
    .npy declares `bomb_header_shape` float32 zeros (sizes and CRC all correct)."""
    with zipfile.ZipFile(src) as zin:
        data = {n: zin.read(n) for n in zin.namelist()}
    meta = json.loads(data["meta.json"])
    if meta_change:
        meta_change(meta)
    data["meta.json"] = json.dumps(meta).encode()
    data.update(members or {})
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, payload in data.items():
            if name == f"arrays/{bomb}.npy":
                continue
            if isinstance(payload, zipfile.ZipInfo):
                zout.writestr(payload, b"target")
            else:
                zout.writestr(name, payload)
        if bomb:
            header = io.BytesIO()
            np.lib.format.write_array_header_2_0(header, {"descr": "<f4", "fortran_order": False,
                                                          "shape": bomb_header_shape})
            with zout.open(zipfile.ZipInfo(f"arrays/{bomb}.npy"), "w", force_zip64=True) as member:
                member._compressor = ZeroBombCompressor()
                member.write(header.getvalue())
                chunk = bytes(1 << 20)
                for _ in range(BOMB_BYTES // len(chunk)):
                    member.write(chunk)


def make_bomb(good: Path, path: Path) -> Path:
    rewrite(good, path, bomb="q_net.body.0.weight", bomb_header_shape=(BOMB_BYTES // 4,))
    return path


def measured(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, float, float]:
    """Exit code, stdout, stderr, wall seconds and peak RSS (MiB) of one child process."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate()
    seconds = time.monotonic() - started
    return proc.returncode, out, err, seconds, float(out.strip().splitlines()[-1]) if args[1] == "-c" else 0.0


CLI_REFUSAL = """
import sys, time
from dqn_core.cli.main import eval_main
started = time.monotonic()
code = eval_main([sys.argv[1]])
print(f"refused in {time.monotonic() - started:.3f}", file=sys.stderr)
print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""

WINDOW_REFUSAL = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication(sys.argv)
QMessageBox.critical = lambda parent, title, text, *a, **k: print(title, "|", text, file=sys.stderr)
from app.main_window import MainWindow
window = MainWindow()
window.show()
app.processEvents()
def peak():
    # VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec.
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
before = peak()
started = time.monotonic()
window.files.open_agent(sys.argv[1])
print(f"refused in {time.monotonic() - started:.3f} (window alone: {before:.0f} MiB)", file=sys.stderr)
print(peak())
"""

SAVE_PEAK = """
import json, sys
from dqn_core.presets import load_preset
from dqn_core.training.trainer import Trainer
from dqn_core.training.saving import save_agent
trainer = Trainer(load_preset("pixels").replace(replay_capacity=int(sys.argv[2]), torch_threads=1))
replay = trainer.replay
replay.frames.random_(0, 255)                     # every page touched, as after a full run
replay.valid[:] = True
replay.valid[-1] = False
replay.size, replay.cursor, replay.transitions = replay.capacity, 0, replay.capacity - 1
def peak():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
before = peak()
import time
started = time.monotonic()
save_agent(trainer, sys.argv[1], include_replay=True)
seconds = time.monotonic() - started
print(json.dumps({"replay_bytes": replay.frames.numel(), "extra_bytes": peak() - before, "seconds": seconds}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", type=int, default=300_000, help="transitions in the saved pixels replay")
    args = parser.parse_args(argv)
    from dqn_core.presets import load_preset
    from dqn_core.training.saving import save_agent
    from dqn_core.training.trainer import Trainer

    folder = Path(tempfile.mkdtemp())
    good = folder / "good.dqn"
    save_agent(Trainer(load_preset("tutorial-state").replace(torch_threads=1)), good)
    bomb = make_bomb(good, folder / "bomb.dqn")
    env = dict(os.environ, XDG_CONFIG_HOME=str(folder / "config"), DQN_STUDIO_HOME=str(folder / "home"))
    rows, results = [], {}
    for name, script in (("dqn-eval (CLI)", CLI_REFUSAL), ("File ▸ Open (window)", WINDOW_REFUSAL)):
        code, out, err, _, peak = measured([sys.executable, "-c", script, str(bomb)], env)
        refused = float(err.split("refused in ")[1].split()[0])
        rows.append([name, f"{bomb.stat().st_size / 1e6:.1f} MB", "5 GiB", f"{refused:.3f}", f"{peak:.0f}"])
        results[name] = {"refusal_seconds": refused, "peak_rss_mib": peak, "stderr": err.strip()}
    print(table(rows, ["load", "file", "declared", "refused after (s)", "peak RSS of the process (MiB)"]))
    proc = subprocess.run([sys.executable, "-c", SAVE_PEAK, str(folder / "replay.dqn"), str(args.replay)],
                          capture_output=True, text=True, check=True)
    save = json.loads(proc.stdout)
    share = save["extra_bytes"] / save["replay_bytes"]
    print(f"saving a {args.replay:,}-transition pixels replay ({save['replay_bytes'] / 2**20:,.0f} MiB): "
          f"{save['extra_bytes'] / 2**20:.1f} MiB extra peak memory ({100 * share:.1f} % of the replay), "
          f"{save['seconds']:.1f} s")
    results["save"] = dict(save, replay_transitions=args.replay, extra_share=share)
    print(f"results: {write_results('files', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
