"""Optional extras: the table of them agrees with pyproject.toml, a missing one is named in one line with the command
that installs it (absence simulated, so these run with or without the extra), and a user's own typo is heard before
the missing extra."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dqn_core.extras import EXTRAS, extra

ROOT = Path(__file__).resolve().parent.parent
TRAIN = "from dqn_core.cli.main import train_main; sys.exit(train_main({args!r}))"
SWEEP = "from dqn_core.experiments.sweep import main; sys.exit(main({args!r}))"


def without(modules: list[str], code: str, args: list[str]) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter in which `modules` cannot be imported, as if never installed."""
    hide = "".join(f"sys.modules[{m!r}] = None; " for m in modules)
    return subprocess.run([sys.executable, "-c", f"import sys; {hide}{code.format(args=args)}"], capture_output=True,
                          text=True, timeout=60)


def test_every_optional_dependency_of_the_project_is_in_the_table_with_its_install_line():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for_users = set(declared) - {"test", "bench"}              # the tests' and the benchmarks' own tools
    assert for_users <= set(EXTRAS)
    assert all(EXTRAS[name].install == f"pip install 'dqn-studio[{name}]'" for name in for_users)
    assert EXTRAS["minatar"].install == "pip install --no-deps minatar"     # not an extra: see pyproject.toml
    with pytest.raises(KeyError, match="the extras are sweep, tensorboard"):
        extra("nope")


def test_an_extra_hidden_from_import_counts_as_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    assert EXTRAS["video"].missing_module() == "av" and not EXTRAS["video"].installed
    assert EXTRAS["video"].version() is None


def test_without_ale_py_one_line_names_the_extra():
    proc = without(["ale_py"], TRAIN, ["--preset", "mnih2013", "--steps", "5", "--no-record"])
    assert proc.returncode == 2
    assert "needs the Atari extra: pip install 'dqn-studio[atari]'" in proc.stderr


def test_without_minatar_one_line_names_the_package():
    proc = without(["minatar", "minatar.gym"], TRAIN, ["--preset", "minatar", "--steps", "5", "--no-record"])
    assert proc.returncode == 2
    assert "needs the MinAtar package: pip install --no-deps minatar" in proc.stderr


def test_without_ray_one_line_names_the_extra(tmp_path):
    proc = without(["ray"], SWEEP, ["--preset", "zoo-state", "--runs-dir", str(tmp_path)])
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("dqn-sweep: error: sweeps need Ray Tune, which is not installed: pip install "
                                   "'dqn-studio[sweep]'")
    assert list(tmp_path.iterdir()) == []                      # nothing written for a sweep that cannot run


def test_a_typo_in_a_sweep_is_named_before_the_missing_extra(tmp_path):
    proc = without(["ray"], SWEEP, ["--grid", "lr=1e-3,7", "--runs-dir", str(tmp_path)])
    assert proc.returncode == 2 and "lr = 7.0 is invalid" in proc.stderr and "Ray Tune" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ci_runs_the_readmes_test_line_on_a_minimal_install():
    """`.ci/run` takes its first command from the README itself; that command installs no extra beyond the tests'."""
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "readme_test_line.py")], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line == 'pip install "torch==2.13.0" -e ".[test]" && python -m pytest'
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'quickstart=$(python3 .ci/readme_test_line.py)' in ci and 'eval "$quickstart"' in ci
    assert ci.index('eval "$quickstart"') < ci.index("[test,sweep")      # the minimal pass comes first
