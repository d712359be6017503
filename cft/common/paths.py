"""Default locations: the data root, ``cft_data/``, and the files every step reads and writes there.

The data root is ``$CFT_DATA_DIR`` when that is set; else ``cft_data/`` beside the scripts when the
package runs from a checkout (the folder holding ``pyproject.toml`` and ``cft_data/``); else
``cft_data/`` in the working directory (a package installed with ``pip install .``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # cft/
_TOP = PACKAGE_DIR.parent
CHECKOUT = _TOP if (_TOP / "pyproject.toml").is_file() and (_TOP / "cft_data").is_dir() else None


def _data_dir() -> Path:
    if os.environ.get("CFT_DATA_DIR"):
        return Path(os.environ["CFT_DATA_DIR"])
    return (CHECKOUT or Path.cwd()) / "cft_data"


DATA_DIR = _data_dir()
# built models (the demo's); a checkout keeps them beside the code, an installed package in the user's cache
CACHE_DIR = CHECKOUT / ".cache" if CHECKOUT else \
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cft"
INPUT_FILE = DATA_DIR / "deepscaler_train.json"
CLEAN_FILE = DATA_DIR / "deepscaler_train_clean.json"
FILTERED_FILE = DATA_DIR / "deepscaler_train_filter.json"
CRITIQUE_FILE = DATA_DIR / "deepscaler_critique.json"
FORMATTED_FILE = DATA_DIR / "deepscaler_critique_formatted.json"
SFT_FILE = DATA_DIR / "deepscaler_critique_sft.jsonl"
LOG_DIR = DATA_DIR / "logs"


def solutions_dir(alias: str, data_dir: str | os.PathLike = DATA_DIR) -> Path:
    """``cft_data/solutions_<alias>``: where one model's chunk files go."""
    return Path(data_dir) / f"solutions_{alias}"


def merged_file(alias: str, data_dir: str | os.PathLike = DATA_DIR) -> Path:
    """``cft_data/deepscaler_<alias>_solutions.json``: one model's merged solutions."""
    return Path(data_dir) / f"deepscaler_{alias}_solutions.json"


def beside(path: str | os.PathLike, name: str) -> Path:
    """``name`` in the folder of ``path``: where a step's outputs, reports and logs go by default when its input
    is given (the run's data, wherever it is; never the checkout's ``cft_data/`` for data kept elsewhere)."""
    return Path(path).parent / name


def logs_beside(path: str | os.PathLike) -> Path:
    """The ``logs/`` folder beside ``path`` (vLLM's own output of a step that reads or writes ``path``)."""
    return beside(path, "logs")
