"""Interrupts and failing outputs, for real: signals sent to a training process, a full disk, bad output paths."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import TRAIN
from dqn_core.training.loading import load_agent


def start_training(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, DQN_STUDIO_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    return subprocess.Popen([*TRAIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_until_training(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    """Read stderr until the run announces itself (it trains from the next moment on)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if line.startswith("dqn-train:") and " from " in line:
            return seen
        if proc.poll() is not None:
            break
    raise AssertionError(f"the run did not start: {seen}")


def wait_until_trained(tmp_path: Path, steps: int, timeout: float = 60.0) -> None:
    """Wait until the run recorded in `tmp_path`'s data folder has taken `steps` steps (its metrics say so)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for metrics in (tmp_path / "home").rglob("metrics.jsonl"):
            for line in metrics.read_text().splitlines():
                row = json.loads(line) if line.endswith("}") else {}
                step = row.get("step")
                if (max(step) if isinstance(step, list) and step else step or 0) >= steps:
                    return
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach step {steps}")


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_stops_training_saves_the_agent_and_exits_with_its_code(tmp_path, signum, code):
    agent = tmp_path / "a.dqn"
    proc = start_training(tmp_path, "--preset", "tutorial-state", "--steps", "1000000", "--save", str(agent),
                          "--quiet", "--set", "eval_every=0")
    wait_until_training(proc)
    wait_until_trained(tmp_path, 200)
    proc.send_signal(signum)
    rc, err = finish(proc)
    assert rc == code, err
    assert f"interrupted by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert load_agent(agent).step > 0


@pytest.mark.slow
def test_repeated_signals_during_the_save_are_noted_and_the_agent_is_saved_once(tmp_path):
    """Ctrl+C pressed again and again (every 20 ms for 3 s), through the final save of a large file."""
    agent = tmp_path / "p.dqn"
    proc = start_training(tmp_path, "--preset", "pixels", "--steps", "1000000", "--save", str(agent), "--save-replay",
                          "--quiet", "--set", "learning_starts=100000", "--set", "eval_every=0")
    wait_until_training(proc)
    wait_until_trained(tmp_path, 500)            # a replay memory worth saving
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
    rc, err = finish(proc)
    assert rc == 130, err
    assert "still saving" in err and "Traceback" not in err
    loaded = load_agent(agent)
    assert loaded.step > 0 and loaded.replay.size > 0


@pytest.mark.slow
def test_sigterm_stops_a_run_that_renders_with_pygame(tmp_path):
    """SDL takes SIGTERM over when pygame starts unless told not to: the lecture's preset renders with pygame."""
    agent = tmp_path / "s.dqn"
    proc = start_training(tmp_path, "--preset", "seed-pixels", "--steps", "1000000", "--save", str(agent), "--quiet",
                          "--set", "replay_capacity=500", "--set", "eval_every=0")
    wait_until_training(proc)
    wait_until_trained(tmp_path, 50)
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc, timeout=60)
    assert rc == 143, err
    assert load_agent(agent).step > 0


@pytest.mark.parametrize("args, fragment", [
    (["--save", ""], "--save = '' is invalid: a file name is needed"),
    (["--save", "{tmp}"], "it is a folder, not a file"),
    (["--save", "/dev/null"], "it exists and is not a regular file"),
    (["--save", "{tmp}/" + "x" * 300 + ".dqn"], "this file system allows at most"),
    (["--save", "{tmp}/x", "--metrics", "{tmp}/x"], "--metrics = '{tmp}/x' is invalid: --save writes the same file"),
    (["--summary-json", "{tmp}/no/such/s.json"], "does not exist"),
    (["--resume", ""], "--resume = '' is invalid"),
    (["--preset", ""], "--preset = '' is invalid"),
    (["--threads", "0"], "--threads = 0 is invalid"),
    (["--set", "learning_rate=0.001"], "did you mean 'lr'?"),
])
def test_outputs_are_checked_before_the_first_step(tmp_path, args, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    started = time.monotonic()
    proc = subprocess.run([*TRAIN, "--preset", "tutorial-state", "--steps", "100000", *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment.replace("{tmp}", str(tmp_path)) in lines[0], proc.stderr
    assert time.monotonic() - started < 30            # refused up front, not after 100,000 steps
    assert Path("/dev/null").is_char_device()


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB file system: an agent file does not fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root); test_a_failed_write_in_process covers it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_keeps_the_agent_in_a_recovery_file_and_writes_the_other_outputs(tmp_path, full_disk):
    metrics, summary = tmp_path / "m.csv", tmp_path / "s.json"
    (full_disk / "a.dqn").write_bytes(b"previous agent")
    proc = subprocess.run([*TRAIN, "--preset", "zoo-state", "--steps", "3000", "--save", str(full_disk / "a.dqn"),
                           "--metrics", str(metrics), "--summary-json", str(summary), "--quiet"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, DQN_STUDIO_HOME=str(tmp_path / "home")))
    assert proc.returncode == 2, proc.stderr
    assert f"could not write --save {full_disk / 'a.dqn'} (No space left on device)" in proc.stderr
    recovered = next((tmp_path / "home" / "recovery").glob("*.dqn"))
    assert str(recovered) in proc.stderr and load_agent(recovered).step == 3000
    assert (full_disk / "a.dqn").read_bytes() == b"previous agent"
    assert [p.name for p in full_disk.iterdir()] == ["a.dqn"]            # no temporary file left behind
    assert json.loads(summary.read_text())["steps"] == 3000 and metrics.read_text().startswith("episode,")


def test_a_failed_write_in_process(tmp_path, monkeypatch, capsys):
    """The same guarantee where no file system can be mounted: the agent file's writer fails as a full disk does."""
    from dqn_core.agentfile import write as agentfile_write
    from dqn_core.cli.main import train_main

    real = agentfile_write.write_npy
    target = tmp_path / "a.dqn"
    monkeypatch.setenv("DQN_STUDIO_HOME", str(tmp_path / "home"))
    calls = {"n": 0}

    def first_fails(handle, array):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        real(handle, array)

    monkeypatch.setattr(agentfile_write, "write_npy", first_fails)
    summary = tmp_path / "s.json"
    code = train_main(["--preset", "tutorial-state", "--steps", "300", "--save", str(target), "--quiet",
                       "--summary-json", str(summary)])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "recovery file" in err
    assert not target.exists() and summary.exists()
    assert load_agent(next((tmp_path / "home" / "recovery").glob("*.dqn"))).step == 300


WINDOW_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv)
    from app.main_window import MainWindow
    from app.signals import install
    window = MainWindow()
    window.configs.choose_preset("tutorial-state")
    install(window)
    window.show()
    window.training.start()
    def ready():
        if window.run.trainer is not None and window.run.trainer.step > 200:
            print("ready", flush=True)
            timer.stop()
    timer = QTimer()
    timer.timeout.connect(ready)
    timer.start(100)
    sys.exit(app.exec())
""")


@pytest.mark.slow
def test_sigterm_to_the_window_keeps_the_training_in_its_run_folder(tmp_path):
    env = dict(os.environ, DQN_STUDIO_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(Path(__file__).resolve().parent.parent))
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc, timeout=60)
    assert rc == 143, err
    kept = next((tmp_path / "home" / "runs").glob("*/agent.dqn"))        # the run folder is the save
    assert f"the agent is kept in its run folder {kept.parent}" in err
    assert load_agent(kept).step > 200 and not (tmp_path / "home" / "recovery").exists()
