"""The learning benchmark's bookkeeping: one tag's seeds, trained in several sittings, share one set of results."""
from __future__ import annotations

import csv
import json

import pytest

from benchmarks import atari_learning, common


@pytest.mark.slow
def test_a_tags_seeds_trained_in_two_sittings_share_its_results(tmp_path, monkeypatch):
    for module in (atari_learning, common):            # the results folder, and write_results' copy of it
        monkeypatch.setattr(module, "RESULTS", tmp_path)
    sitting = ["--preset", "tutorial-state", "--threads", "1", "--eval-episodes", "2", "--tag", "sittings",
               "--set", "eval_every=300", "--set", "eval_episodes=2", "--set", "learning_starts=100"]
    assert atari_learning.main(sitting + ["--minutes", "0.1", "--seeds", "3"]) == 0
    assert atari_learning.main(sitting + ["--minutes", "0.1", "--seeds", "4"]) == 0

    data = json.loads((tmp_path / "sittings.json").read_text())
    assert [r["seed"] for r in data["seeds"]] == [3, 4]
    assert all(r["machine"]["cores"] >= 1 and r["dqn_eval_returns"] for r in data["seeds"])
    with open(tmp_path / "sittings.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {int(r["seed"]) for r in rows} == {3, 4}            # both sittings' evaluation curves
    png = (tmp_path / "sittings.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (900, 500)   # drawn at its size

    # Another budget would make the seeds incomparable: refused before any training, the results untouched.
    with pytest.raises(SystemExit, match=r"minutes 0\.1 there, 0\.2 here"):
        atari_learning.main(sitting + ["--minutes", "0.2", "--seeds", "5"])
    assert not (tmp_path / "sittings-seed5-train.json").exists()
    assert [r["seed"] for r in json.loads((tmp_path / "sittings.json").read_text())["seeds"]] == [3, 4]
