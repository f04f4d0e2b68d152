"""Where DQN Studio keeps its own files: the runs folder, recovery files. Overridable by environment variables.

- `DQN_STUDIO_HOME`: the data folder (default: the platform's user data folder, via platformdirs, e.g.
  `~/.local/share/dqn-studio` on Linux).
- `DQN_STUDIO_RUNS`: the runs folder (default: `runs` in the data folder).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

APP_NAME = "dqn-studio"


def data_dir() -> Path:
    home = os.environ.get("DQN_STUDIO_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def runs_dir() -> Path:
    runs = os.environ.get("DQN_STUDIO_RUNS", "").strip()
    return Path(runs).expanduser() if runs else data_dir() / "runs"


def recovery_candidates() -> list[Path]:
    """Folders a recovery file may go to, best first: the data folder's `recovery`, then the system temp folder."""
    return [data_dir() / "recovery", Path(tempfile.gettempdir()) / f"{APP_NAME}-recovery"]
