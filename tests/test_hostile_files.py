"""Hostile and broken files, built for real: zip bombs, lying headers, nested JSON, symbolic links, bad configs.

Each is refused with a message naming the file and the problem, quickly and in bounded memory, by the CLI (exit 2)
and the window (a dialog), and leaves nothing changed.
"""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from benchmarks.files import BOMB_BYTES, rewrite
from conftest import EVAL
from dqn_core.agentfile.read import AgentFileError
from dqn_core.config import ConfigError, load_config_file
from dqn_core.fileio import TMP_SUFFIX, atomic_write_bytes, remove_stale_temporaries
from dqn_core.training.loading import load_agent
from dqn_core.training.saving import save_agent
from dqn_core.training.trainer import Trainer


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    from dqn_core.presets import load_preset

    path = tmp_path_factory.mktemp("good") / "good.dqn"
    config = load_preset("tutorial-state").replace(replay_capacity=2000, eval_every=0, torch_threads=1)
    save_agent(Trainer(config), path)
    return path


@pytest.fixture(scope="module")
def bombs(good, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    name = "q_net.body.0.weight"
    honest = folder / "honest-manifest.dqn"          # the manifest tells the truth, the member declares 5 GiB
    rewrite(good, honest, bomb=name, bomb_header_shape=(BOMB_BYTES // 4,))
    lying = folder / "lying-manifest.dqn"            # the manifest declares the 5 GiB shape too
    rewrite(good, lying, meta_change=lambda m: m["arrays"][name].update(shape=[BOMB_BYTES // 4]), bomb=name,
            bomb_header_shape=(BOMB_BYTES // 4,))
    return {"honest": honest, "lying": lying}


PEAK = ("import atexit, sys; from dqn_core.cli.main import eval_main; atexit.register(lambda: print(int(open("
        "'/proc/self/status').read().split('VmHWM:')[1].split()[0]) // 1024)); sys.exit(eval_main(sys.argv[1:]))")


def run_measured(args: list[str]) -> tuple[int, str, float, float]:
    """Run dqn-eval ARGS; return its exit code, stderr, wall seconds and its own peak RSS in MiB (VmHWM, which,
    unlike ru_maxrss, does not keep the parent's size from before exec)."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr, time.monotonic() - started, float(proc.stdout.split()[-1])


@pytest.mark.parametrize("kind, fragment, max_mib", [
    ("honest", "declares", 300),                 # refused from the zip's sizes alone, before torch is imported
    ("lying", "the network expects", 400),       # refused by the network's shapes: the engine is loaded (~300 MiB)
])
@pytest.mark.slow
def test_a_zip_bomb_is_refused_before_it_is_inflated(bombs, kind, fragment, max_mib):
    path = bombs[kind]
    assert path.stat().st_size < 8 << 20
    with zipfile.ZipFile(path) as zf:
        assert max(i.file_size for i in zf.infolist()) > BOMB_BYTES
    rc, err, seconds, peak_mib = run_measured([str(path)])
    assert rc == 2 and str(path) in err and fragment in err and "Traceback" not in err, err
    assert seconds < 30 and peak_mib < max_mib, (seconds, peak_mib)    # was 140 s and 10.7 GB


def test_a_lying_npy_header_is_refused_before_allocating(good, tmp_path):
    """The member's .npy header declares 4 TB while the manifest and the zip sizes tell the truth."""
    name = "q_net.body.0.weight"
    with zipfile.ZipFile(good) as zf:
        real = zf.read(f"arrays/{name}.npy")
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    lie = header.getvalue()
    body = real[len(real) - (len(real) - 128):]       # keep the size equal to what the zip declares
    payload = (lie + body)[:len(real)]
    path = tmp_path / "lie.dqn"
    rewrite(good, path, members={f"arrays/{name}.npy": payload})
    with pytest.raises(AgentFileError, match="does not match its description"):
        load_agent(path)


def test_deeply_nested_meta_json_is_refused(good, tmp_path):
    path = tmp_path / "nested.dqn"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, ("[" * 100_000 + "]" * 100_000) if name == "meta.json" else zin.read(name))
    with pytest.raises(AgentFileError, match="nested too deeply"):
        load_agent(path)
    moderately = tmp_path / "moderately.dqn"
    rewrite(good, moderately, meta_change=lambda m: m.update(extra=json.loads("[" * 200 + "]" * 200)))
    with pytest.raises(AgentFileError, match="nested more than 64 levels"):
        load_agent(moderately)
    rc, err, _, _ = run_measured([str(path)])
    assert rc == 2 and "nested too deeply" in err and "Traceback" not in err


def test_a_huge_meta_json_is_refused_by_its_declared_size(good, tmp_path):
    path = tmp_path / "bigmeta.dqn"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, b" " * (200 << 20) if name == "meta.json" else zin.read(name))
    with pytest.raises(AgentFileError, match="meta.json declares 209,715,200 bytes"):
        load_agent(path)


def test_symlink_and_special_members_are_refused_with_their_real_reason(good, tmp_path):
    link = zipfile.ZipInfo("arrays/link.npy")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = tmp_path / "link.dqn"
    rewrite(good, path, members={"arrays/link.npy": link})
    with pytest.raises(AgentFileError, match="is a symbolic link"):
        load_agent(path)
    fifo = zipfile.ZipInfo("arrays/fifo.npy")
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    rewrite(good, path, members={"arrays/fifo.npy": fifo})
    with pytest.raises(AgentFileError, match="special file"):
        load_agent(path)
    rewrite(good, path, members={"../escape.npy": b"x"})
    with pytest.raises(AgentFileError, match="unsafe path"):
        load_agent(path)


def test_an_extra_array_the_agent_cannot_hold_is_refused(good, tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros(3, dtype=np.float32))
    path = tmp_path / "extra.dqn"
    rewrite(good, path, meta_change=lambda m: m["arrays"].update({"surprise": {"shape": [3], "dtype": "<f4"}}),
            members={"arrays/surprise.npy": buf.getvalue()})
    with pytest.raises(AgentFileError, match="unexpected array 'surprise'"):
        load_agent(path)


@pytest.mark.parametrize("name, text, fragment", [
    ("five.toml", "config = 5\n", "its 'config' must be a table of settings, not int"),
    ("array.toml", "[[config]]\nlr = 0.1\n", "its 'config' must be a table of settings, not list"),
    ("list.json", "[1, 2]", "must hold a table of settings"),
    ("latin1.toml", None, "is not UTF-8 text"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_bad_config_files_are_refused_naming_the_file(tmp_path, name, text, fragment):
    path = tmp_path / name
    if text is None:
        path.write_bytes("lr = 0.001 # caf\xe9\n".encode("latin-1"))
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    proc = subprocess.run([sys.executable, "-c", "import sys; from dqn_core.cli.main import train_main; "
                           "sys.exit(train_main(sys.argv[1:]))", "--config", str(path), "--steps", "5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".a.dqn.{dead.pid}-0123abcd{TMP_SUFFIX}"
    leftover.write_bytes(b"half an agent")
    live = tmp_path / f".b.dqn.{os.getppid()}-0123abcd{TMP_SUFFIX}"     # a save under way in a living process
    live.write_bytes(b"being written")
    ancient = tmp_path / f".c.dqn.{os.getppid()}-89abcdef{TMP_SUFFIX}"
    ancient.write_bytes(b"two days old")
    os.utime(ancient, (time.time() - 2 * 86400,) * 2)
    foreign = tmp_path / ".someone-else.tmp"
    foreign.write_bytes(b"not ours")
    atomic_write_bytes(tmp_path / "new.txt", b"hello")
    assert not leftover.exists() and not ancient.exists()
    assert live.exists() and foreign.exists() and (tmp_path / "new.txt").read_bytes() == b"hello"
    assert remove_stale_temporaries(tmp_path) == []


def test_saved_files_get_the_users_permissions_and_keep_an_existing_mode(tmp_path, good):
    old = os.umask(0o022)
    try:
        trainer = load_agent(good)
        fresh = tmp_path / "fresh.dqn"
        save_agent(trainer, fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        shared = tmp_path / "shared.dqn"
        shared.write_bytes(b"")
        os.chmod(shared, 0o640)
        save_agent(trainer, shared)
        assert stat.S_IMODE(shared.stat().st_mode) == 0o640
        os.umask(0o077)
        private = tmp_path / "private.json"
        atomic_write_bytes(private, b"{}")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_saving_streams_the_replay_memory_instead_of_copying_it(tmp_path):
    from benchmarks.files import SAVE_PEAK

    proc = subprocess.run([sys.executable, "-c", SAVE_PEAK, str(tmp_path / "r.dqn"), "100000"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["extra_bytes"] <= 0.1 * result["replay_bytes"], result          # ≤ 10 % of a 305 MiB replay
    assert load_agent(tmp_path / "r.dqn").replay.size == 100_000


STARTUP = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

def critical(parent, title, text, *args, **kwargs):
    print("DIALOG", title, "|", text, flush=True)
    QTimer.singleShot(0, QApplication.instance().quit)
    return QMessageBox.StandardButton.Ok

QMessageBox.critical = critical
from app.__main__ import main
sys.exit(main(["dqn-studio", sys.argv[1]]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("which", ["nested", "bomb"])
def test_the_window_refuses_a_hostile_file_at_start_with_a_dialog(good, bombs, tmp_path, which):
    if which == "nested":
        path = tmp_path / "nested.dqn"
        with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
            for name in zin.namelist():
                zout.writestr(name, ("[" * 100_000 + "]" * 100_000) if name == "meta.json" else zin.read(name))
    else:
        path = bombs["honest"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               DQN_STUDIO_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", STARTUP, str(path)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=str(Path(__file__).resolve().parent.parent))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"DIALOG Cannot open agent | {path}:" in proc.stdout
    assert time.monotonic() - started < 60


def test_file_open_of_a_zip_bomb_answers_with_a_dialog_and_keeps_the_agent(qtbot, bombs, good, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a, **k: shown.append((title, text)))
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.files.open_agent(str(good))
    kept = window.run.trainer
    started = time.monotonic()
    assert not window.files.open_agent(str(bombs["honest"]))
    assert time.monotonic() - started < 10
    assert shown and shown[0][0] == "Cannot open agent" and str(bombs["honest"]) in shown[0][1]
    assert window.run.trainer is kept and window.run.path == str(good)
