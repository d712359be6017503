"""The evaluation sets that ship with the package; step 0 compares the input against them by default.

``math500.jsonl``: the 500 MATH-500 test problems in DeepScaleR's raw shape (``problem``, ``answer``)
with ``solution``, ``subject``, ``level``, ``unique_id``. Problems and answers: agentica-project/deepscaler
``deepscaler/data/test/math.json`` (MIT); solutions, subjects and levels: openai/prm800k's MATH splits
(MIT), originally hendrycks/math (MIT).
"""

from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
MATH500 = EVAL_DIR / "math500.jsonl"
DEFAULT_EVAL_SETS = (MATH500,)
