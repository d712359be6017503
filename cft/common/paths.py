"""Default locations: the data root, ``cft_data/``, and the name of every file a step reads and writes there.

The data root is ``$CFT_DATA_DIR`` when that is set; else ``cft_data/`` beside the scripts when the
package runs from a checkout (the folder holding ``pyproject.toml`` and ``cft_data/``); else
``cft_data/`` in the working directory (a package installed with ``pip install .``).

Every file name of a run is spelled here once, as a ``DataRoot`` attribute or method: the scripts'
defaults are those of the default root (``INPUT_FILE``, ``solutions_dir(alias)``, ...), and the
pipeline (``cft.pipeline``) takes them all from ``DataRoot(--data_dir)``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # cft/
_TOP = PACKAGE_DIR.parent
CHECKOUT = _TOP if (_TOP / "pyproject.toml").is_file() and (_TOP / "cft_data").is_dir() else None


def scripts_dir() -> Path:
    """Where the step scripts are: beside the package in a checkout; else beside the interpreter, where
    ``pip install .`` puts them (the venv's ``bin/``)."""
    if (_TOP / "generate_solutions.py").is_file():
        return _TOP
    return Path(sys.executable).parent


def _data_dir() -> Path:
    if os.environ.get("CFT_DATA_DIR"):
        return Path(os.environ["CFT_DATA_DIR"])
    return (CHECKOUT or Path.cwd()) / "cft_data"


# every file and folder of a run that has one name, under its data root: DataRoot's attribute -> its name
_NAMES = {
    "input_file": "deepscaler_train.json",  # the problem set
    "clean_file": "deepscaler_train_clean.json",  # step 0's output: the problems kept
    "filtered_file": "deepscaler_train_filter.json",  # step 3
    "step_labels_file": "deepscaler_step_labels.json",  # label_steps.py (its _report.md and _work/ beside it)
    "critique_file": "deepscaler_critique.json",  # step 4
    "formatted_file": "deepscaler_critique_formatted.json",  # step 5 (its .parquet and _val twins beside it)
    "sft_file": "deepscaler_critique_sft.jsonl",  # step 6
    "process_file": "deepscaler_process.jsonl",  # step 5 with --step_labels (its .parquet and _val twins beside it)
    "dataset_dir": "dataset",  # build_dataset.py
    "slurm_dir": "slurm",  # generate_commands.py --format slurm
    "log_dir": "logs",  # every log and step summary
    "commands_file": "commands.txt",  # generate_commands.py's printed commands, as the pipeline keeps them
    "pipeline_summary": "pipeline_summary.json",  # the pipeline's closing summary
    "demo_eval_file": "demo_eval.jsonl",  # the demo's own evaluation set (cft.fixtures.demo_eval)
}


class DataRoot:
    """The files of one run under its data root ``root``: an attribute per name of ``_NAMES``, and the
    per-model and per-step names below."""
    input_file: Path
    clean_file: Path
    filtered_file: Path
    step_labels_file: Path
    critique_file: Path
    formatted_file: Path
    sft_file: Path
    process_file: Path
    dataset_dir: Path
    slurm_dir: Path
    log_dir: Path
    commands_file: Path
    pipeline_summary: Path
    demo_eval_file: Path

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        for attr, name in _NAMES.items():
            setattr(self, attr, self.root / name)

    # step 1 and 2, per model
    def solutions_dir(self, alias: str) -> Path:
        """``solutions_<alias>``: where one model's chunk files go."""
        return self.root / f"solutions_{alias}"

    def merged_file(self, alias: str) -> Path:
        """``deepscaler_<alias>_solutions.json``: one model's merged solutions."""
        return self.root / f"deepscaler_{alias}_solutions.json"

    def problem_set(self) -> Path:
        """What generation reads by default: step 0's output once step 0 has run, else the problem set."""
        return self.clean_file if self.clean_file.is_file() else self.input_file

    def summary_file(self, step: str) -> Path:
        """``logs/summary_<step>.json``: a step's ``--summary_json`` (what the card is written from)."""
        return self.log_dir / f"summary_{step}.json"

    def step_log(self, step: str) -> Path:
        """``logs/pipeline_<step>.log``: a step's output in a pipeline run."""
        return self.log_dir / f"pipeline_{step}.log"

    def engine_log(self, step: str) -> Path:
        """``logs/pipeline_<step>.engine.log``: vLLM's own output in a pipeline run."""
        return self.log_dir / f"pipeline_{step}.engine.log"


def run_script(alias: str, folder: str | os.PathLike) -> Path:
    """``run_<alias>.sh``: one model's per-GPU commands, as ``generate_commands.py --scripts_dir`` writes them."""
    return Path(folder) / f"run_{alias}.sh"


def slurm_script(alias: str, folder: str | os.PathLike) -> Path:
    """``generate_<alias>.sbatch``: one model's Slurm job array (``generate_commands.py --format slurm``)."""
    return Path(folder) / f"generate_{alias}.sbatch"


def summary_step(path: str | os.PathLike) -> str:
    """``logs/summary_<step>.json`` -> ``<step>``."""
    return Path(path).stem.removeprefix("summary_")


DATA_DIR = _data_dir()
DEFAULT = DataRoot(DATA_DIR)
# built models (the demo's); a checkout keeps them beside the code, an installed package in the user's cache
CACHE_DIR = CHECKOUT / ".cache" if CHECKOUT else \
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cft"
INPUT_FILE = DEFAULT.input_file
CLEAN_FILE = DEFAULT.clean_file
FILTERED_FILE = DEFAULT.filtered_file
CRITIQUE_FILE = DEFAULT.critique_file
FORMATTED_FILE = DEFAULT.formatted_file
SFT_FILE = DEFAULT.sft_file
STEP_LABELS_FILE = DEFAULT.step_labels_file
PROCESS_FILE = DEFAULT.process_file
LOG_DIR = DEFAULT.log_dir


def solutions_dir(alias: str, data_dir: str | os.PathLike = DATA_DIR) -> Path:
    """``cft_data/solutions_<alias>``: where one model's chunk files go."""
    return DataRoot(data_dir).solutions_dir(alias)


def merged_file(alias: str, data_dir: str | os.PathLike = DATA_DIR) -> Path:
    """``cft_data/deepscaler_<alias>_solutions.json``: one model's merged solutions."""
    return DataRoot(data_dir).merged_file(alias)


def beside(path: str | os.PathLike, name: str) -> Path:
    """``name`` in the folder of ``path``: where a step's outputs, reports and logs go by default when its input
    is given (the run's data, wherever it is; never the checkout's ``cft_data/`` for data kept elsewhere)."""
    return Path(path).parent / name


def logs_beside(path: str | os.PathLike) -> Path:
    """The ``logs/`` folder beside ``path`` (vLLM's own output of a step that reads or writes ``path``)."""
    return beside(path, "logs")
