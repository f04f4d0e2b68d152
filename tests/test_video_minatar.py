"""Recording an agent (MP4 and GIF, decoded back and counted) from the CLI and the window, and MinAtar as an
environment family: its image observations, names, drawing, network and a short run through the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import EVAL, TRAIN
from dqn_core.presets import load_preset
from dqn_core.training.saving import save_agent
from dqn_core.training.trainer import Trainer


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    path = tmp_path_factory.mktemp("agent") / "a.dqn"
    trainer = Trainer(load_preset("zoo-state").replace(torch_threads=1))
    for _ in trainer.run(max_steps=2000):
        pass
    save_agent(trainer, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["gif", pytest.param("mp4", marks=pytest.mark.needs("video"))])
def test_dqn_eval_records_every_episode_frame_by_frame(agent, tmp_path, suffix):
    out, summary = tmp_path / f"play.{suffix}", tmp_path / "s.json"
    proc = subprocess.run([*EVAL, str(agent), "--episodes", "2", "--seed", "7", "--video", str(out), "--summary-json",
                           str(summary)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    steps = [int(r) for r in json.loads(summary.read_text())["returns"]]
    expected = sum(steps) + len(steps)                   # the first frame of each episode, then one per step
    if suffix == "gif":
        from PIL import Image

        from dqn_core.envs.observed import ObservedEnv

        with Image.open(out) as image:
            assert image.n_frames == expected and image.size == (600, 400)
            image.seek(0)
            first = np.asarray(image.convert("RGB"), dtype=float)
        env = ObservedEnv(load_preset("zoo-state"), 7)          # dqn-eval --seed 7: the first episode's start
        env.reset()
        assert np.abs(first - env.screen()).mean() < 3.0       # the same picture, up to the GIF's 256 colours
    else:
        import av

        with av.open(str(out)) as container:
            assert sum(1 for _ in container.decode(video=0)) == expected
    assert json.loads(summary.read_text())["video"]["frames"] == expected
    assert f"({expected:,} frames) in {out}" in proc.stderr


def test_a_video_target_is_checked_before_anything_is_played(agent, tmp_path):
    proc = subprocess.run([*EVAL, str(agent), "--video", str(tmp_path / "play.avi")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "must end in .mp4 or .gif" in proc.stderr


def test_without_pyav_an_mp4_names_the_extra(agent, tmp_path):
    code = ("import sys; sys.modules['av'] = None; from dqn_core.cli.main import eval_main; "
            f"sys.exit(eval_main([{str(agent)!r}, '--video', {str(tmp_path / 'x.mp4')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "MP4 needs the optional 'video' extra (PyAV): pip install 'dqn-studio[video]'" in proc.stderr


@pytest.mark.slow
def test_record_video_from_the_file_menu_and_cancel_keeps_the_old_file(make_window, qtbot, agent, tmp_path,
                                                                       monkeypatch, isolated_settings):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from dqn_core import video

    w = make_window(preset=None)
    assert w.files.open_agent(str(agent))
    out = tmp_path / "menu.gif"
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (2, True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Animated GIF (*.gif)"))
    assert w.actions_by_name["record"].isEnabled()
    w.actions_by_name["record"].trigger()
    from PIL import Image

    with Image.open(out) as image:
        frames = image.n_frames
    assert frames > 2 and "Recorded 2 episodes" in w.statusBar().currentMessage()
    before = out.read_bytes()
    real = video.write_video

    def cancelled(path, frames, fps=30.0, progress=None):
        return real(path, frames, fps, lambda n: n < 5)      # as if Cancel were pressed at the fifth frame

    monkeypatch.setattr("app.exports.write_video", cancelled)
    w.actions_by_name["record"].trigger()
    assert out.read_bytes() == before and "cancelled" in w.statusBar().currentMessage()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---- MinAtar ---------------------------------------------------------------------------------------------------------
@pytest.mark.needs("minatar")
def test_minatar_frames_are_the_game_grid_stored_once_as_bytes():
    from dqn_core.envs.observed import ObservedEnv

    config = load_preset("minatar")
    env = ObservedEnv(config, 0)
    frame = env.reset()
    assert env.frame_shape == (4, 10, 10) and frame.dtype == np.uint8 and set(np.unique(frame)) <= {0, 255}
    assert env.action_names() == ["NOOP", "LEFT", "RIGHT"]
    screen = env.screen()
    assert screen.shape == (200, 200, 3) and screen.dtype == np.uint8 and screen.max() > 0
    trainer = Trainer(config.replace(replay_capacity=1000, learning_starts=64, eval_every=0, torch_threads=1))
    assert sum(p.numel() for p in trainer.agent.q_net.parameters()) == 16 * 4 * 9 + 16 + 1024 * 128 + 128 + 128 * 3 + 3
    assert type(trainer.agent.optimizer).__name__ == "RMSprop"
    assert trainer.agent.optimizer.defaults["centered"] and trainer.agent.optimizer.defaults["alpha"] == 0.95


@pytest.mark.slow
@pytest.mark.needs("minatar")
def test_a_short_minatar_run_through_the_cli_and_back(tmp_path):
    agent, summary = tmp_path / "m.dqn", tmp_path / "s.json"
    proc = subprocess.run([*TRAIN, "--preset", "minatar", "--steps", "1500", "--set", "learning_starts=300", "--set",
                           "eval_every=750", "--set", "eval_episodes=2", "--save", str(agent), "--summary-json",
                           str(summary), "--quiet", "--no-record"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    assert data["steps"] == 1500 and data["updates"] > 1000 and data["eval_mean_return"] is not None
    out = tmp_path / "m.gif"
    proc = subprocess.run([*EVAL, str(agent), "--episodes", "1", "--video", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(out) as image:
        assert image.size == (200, 200) and image.n_frames >= 2
        for k in range(image.n_frames):                     # every frame in its own colours: the paddle (always on
            image.seek(k)                                   # the bottom row) never turns black
            assert np.asarray(image.convert("RGB"))[180:].max() > 0
