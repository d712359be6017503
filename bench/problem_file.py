"""Competition problems for the benchmarks that need real text, from a file the user passes.

None ships with the project (its problems and worked solutions are other people's): point
``--problems_file`` at a copy of MATH-500 in its raw shape, a JSON list, JSON Lines or parquet file of
rows with ``problem``, ``answer`` and, for the benchmarks that use them, ``solution`` and ``level``
(for example HuggingFaceH4/MATH-500's test split saved with ``datasets``' ``to_json``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cft.common.errors import CftError
from cft.records.problems import rows_of_file

HELP = ("competition problems (JSON list, JSONL or parquet; rows with problem, answer, solution, level), "
        "e.g. a copy of MATH-500")


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems_file", type=Path, required=True, metavar="FILE", help=HELP)


def load(path: str | Path, fields: tuple[str, ...] = ("problem", "answer")) -> list[dict]:
    """The file's rows; an error naming the first row that lacks one of ``fields``."""
    rows = []
    for where, row in rows_of_file(path):
        missing = [f for f in fields if not isinstance(row, dict) or row.get(f) in (None, "")]
        if missing:
            raise CftError(f"{path}: {where}: no {', '.join(missing)}")
        rows.append(row)
    if not rows:
        raise CftError(f"{path}: no problems")
    return rows
