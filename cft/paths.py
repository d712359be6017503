"""Default locations: everything lives under cft_data/ beside the scripts."""

from __future__ import annotations

from pathlib import Path

from cft.models import get_model

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "cft_data"
INPUT_FILE = DATA_DIR / "deepscaler_train.json"
FILTERED_FILE = DATA_DIR / "deepscaler_train_filter.json"
CRITIQUE_FILE = DATA_DIR / "deepscaler_critique.json"
FORMATTED_FILE = DATA_DIR / "deepscaler_critique_formatted.json"


def solutions_dir(model: str, data_dir: Path = DATA_DIR) -> Path:
    """``cft_data/solutions_<alias>``: where one model's chunk files go."""
    return Path(data_dir) / f"solutions_{get_model(model).alias}"


def merged_file(model: str, data_dir: Path = DATA_DIR) -> Path:
    """``cft_data/deepscaler_<alias>_solutions.json``: one model's merged solutions."""
    return Path(data_dir) / f"deepscaler_{get_model(model).alias}_solutions.json"
