"""The dataset folder's configs: which step's files make which split, one table entry per config.

A config is what ``datasets.load_dataset(FOLDER, NAME)`` loads: here, a step's training file as
the ``train`` split and its held-out twin (``<name>_val.parquet``, ``cft.critic.split.val_path``)
as ``validation``, when it exists. ``build_dataset.py`` gets a ``--<name>_file`` flag per entry.
Step 6's SFT rows are the second entry, ``sft``,
with ``step`` the name of its summary (``summary_<step>.json``), whose ``rows`` and ``val_rows``
(``counts``) must match the files for the card to describe them with the run's summaries. The step
labels' process rows are the third, ``process``: step 5 writes them (``--step_labels``), so its
summary counts them (``process_rows``, ``process_val_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cft.common import paths

TRAIN, VALIDATION = "train", "validation"  # the Hub's split names; step 5 calls the held-out side "val"


@dataclass(frozen=True)
class Config:
    name: str  # the config name: load_dataset(folder, name), and data/<name>/ in the folder
    train_file: Path  # the default training file (parquet); the held-out file is its _val twin
    step: str  # the step whose summary reports these files (its rows, val_rows)
    label: str  # the column holding each row's right/wrong label
    what: str  # one sentence for the card: what a row is, what it is for
    fields: str  # the row's fields, for the card (docs/file-formats.md has the whole contract)
    counts: tuple[str, str] = ("rows", "val_rows")  # the step summary's facts that count its training, held-out rows
    right_value: str = "right"  # the label column's value of a right row (every other value: wrong)
    label_words: tuple[str, str] = ("right", "wrong")  # what the card's table calls the two

    @property
    def flag(self) -> str:
        return f"{self.name}_file"


CONFIGS: tuple[Config, ...] = (
    Config(
        "rl", paths.FORMATTED_FILE.with_suffix(".parquet"), step="format", label="answer",
        what="verl rows for reinforcement learning (step 5): the critique prompt as the user turn, and the "
             "solution's label (`right` or `wrong`) as the ground truth of a rule-based reward.",
        fields="`data_source` (`deepscaler_critique`), `prompt` (one user message: the critique prompt), "
               "`ability` (`critique`), `reward_model` (`{\"style\": \"rule\", \"ground_truth\": label}`), "
               "`answer` and `target` (the label), `extra_info` (`split`, `index`, `question_index`: the "
               "problem's row in the input, `source_model`, `solution`, `question_ground_truth`, `solution_index`)"),
    Config(
        "sft", paths.SFT_FILE.with_suffix(".parquet"), step="sft", label="label",
        what="SFT rows for critique fine-tuning (step 6): the critique prompt as the user turn and a teacher "
             "model's critique as the assistant turn, kept only where the critique's verdict is the row's label.",
        fields="`messages` (the user turn: the critique prompt; the assistant turn: the critique, ending in "
               "`Conclusion: right [END]` or `Conclusion: wrong [END]`), `label`, `teacher_model`, `source_model`, "
               "`question_index` (the problem's row in the input), `solution_index`, `formatted_index` (the row "
               "of the `rl` split it critiques), `sample_index`, `split`, `verdict_format` (`exact`, or "
               "`rewritten`: a slipped ending rewritten to the exact one), `lucky` (true only for a lucky solution "
               "kept on purpose: step 4's `--keep_lucky`)"),
    Config(
        "process", paths.PROCESS_FILE.with_suffix(".parquet"), step="format", label="label",
        counts=("process_rows", "process_val_rows"), right_value="-1", label_words=("every step right", "a wrong step"),
        what="step labels (`label_steps.py`, written by step 5): each labelled solution cut into steps, with its "
             "earliest wrong step, found where a teacher's verdicts and Monte Carlo completions agree; in TRL's "
             "stepwise-supervision format (its PRM trainer) and ProcessBench's (for evaluation).",
        fields="`prompt` (the problem), `completions` (the steps up to and including the first wrong one), `labels` "
               "(one bool per completion), `id`, `generator`, `problem`, `steps` (every step), "
               "`final_answer_correct`, `label` (the earliest wrong step, from 0; -1 when every step is right), "
               "`question_index`, `source_model`, `solution_index`, `grade`, `lucky` (graded right, with a wrong "
               "step), `signals` and `status` (which signals made the label), `teacher_vote`, `teacher_margin`, "
               "`teacher_verdicts`, `rollout_first_error`, `rollout_prefixes`, `rollout_reached`, "
               "`rollouts_per_prefix`, `split`"),
)
