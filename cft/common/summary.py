"""Step summaries, built once: the aligned ``label : value`` lines a step prints at its end, and the
same facts as JSON (``--summary_json``) for scripts, tests and the pipeline's final summary.

A step fills one ``Summary``: ``row`` prints a line and, with ``key``, records the fact (or a richer
``value``) under that key; ``fact`` records without printing; ``wrote`` prints and records an output
file; ``headline=True`` also marks a line for ``run_full_pipeline.sh``'s closing summary, which
prints the marked lines of every step in order (``cft.pipeline``), knowing none of their keys.

The JSON also carries the step's ``command``: the command line that ran it (``sys.orig_argv``), so
a dataset's manifest can say how each file was made. The value of a flag whose name says it holds
a secret (``--api_key``, ``--token``, ``--password``, ...) and any argument shaped like an API key
are written as ``***``; our command lines name keys (``--api_key_env NAME``), never hold them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

_UNSET = object()


class Summary:
    def __init__(self, step: str, title: str | None = None):
        self.step = step
        self.title = title or step
        self.blocks: list[tuple[str, list[tuple[str, object]]]] = [(self.title, [])]
        self.facts: dict[str, Any] = {}
        self.headline: list[tuple[str, object]] = []
        self.outputs: list[str] = []

    def row(self, label: str, text: object, key: str | None = None, value: Any = _UNSET,
            headline: bool = False) -> Summary:
        """A printed line; with ``key``, the fact under it (``value``, else ``text``) in the JSON."""
        self.blocks[-1][1].append((label, text))
        if key is not None:
            self.facts[key] = text if value is _UNSET else value
        if headline:
            self.headline.append((label, text))
        return self

    def brief(self, label: str, text: object) -> Summary:
        """A line for the pipeline's closing summary only (the step prints its details)."""
        self.headline.append((label, text))
        return self

    def section(self, title: str) -> Summary:
        """Start another printed block (merge prints one per model)."""
        if not self.blocks[-1][1]:
            self.blocks.pop()
        self.blocks.append((title, []))
        return self

    def fact(self, key: str, value: Any) -> Summary:
        """A fact for the JSON only."""
        self.facts[key] = value
        return self

    def wrote(self, path: str | os.PathLike, label: str = "wrote", headline: bool = True) -> Summary:
        """An output file: printed with its size, listed in ``outputs`` (and in the pipeline's summary)."""
        self.outputs.append(os.fspath(path))
        return self.row(label, file_line(path), headline=headline)

    def output(self, path: str | os.PathLike) -> Summary:
        """An output file listed in ``outputs`` only (step 1's chunk files: too many to print)."""
        self.outputs.append(os.fspath(path))
        return self

    def data(self) -> dict[str, Any]:
        return {"step": self.step, **self.facts, "outputs": self.outputs,
                "headline": [list(row) for row in self.headline], "command": command_line()}

    def emit(self, json_path: str | os.PathLike | None = None, beside: str | os.PathLike | None = None) -> Summary:
        """Print the block; write ``data()`` atomically to ``json_path`` (``--summary_json``), else, with
        ``beside`` (the step's output), to ``logs/summary_<step>.json`` beside it: a step run by hand leaves its
        summary where ``build_dataset.py`` and the pipeline look for it, so the dataset card knows what ran."""
        for title, rows in self.blocks:
            print_rows(title, rows)
        if json_path is None and beside is not None:
            json_path = Path(beside).parent / "logs" / f"summary_{self.step}.json"
        if json_path:
            write_summary_json(json_path, self.data())
        return self


_SECRET_FLAG = re.compile(r"(?:^|_)(?:api_?key|secret|password|passwd|token|auth|credentials?)$")
_SECRET_VALUE = re.compile(r"^(?:sk-|hf_|ghp_|gho_|xox[abp]-|AKIA)[A-Za-z0-9_-]{16,}$")
REDACTED = "***"


def command_line(argv: list[str] | None = None) -> str:
    """``argv`` (default: this process's, interpreter included) as one shell line, secrets redacted."""
    argv = list(sys.orig_argv if argv is None else argv)
    out: list[str] = []
    secret_next = False
    for arg in argv:
        flag, eq, value = arg.partition("=")
        name = flag.lstrip("-").replace("-", "_").lower()
        if secret_next or _SECRET_VALUE.match(arg):
            arg = REDACTED
        elif arg.startswith("--") and eq and _SECRET_FLAG.search(name):
            arg = f"{flag}={REDACTED}"
        secret_next = arg.startswith("--") and not eq and bool(_SECRET_FLAG.search(name))
        out.append(arg)
    return shlex.join(out)


def print_rows(title: str, rows: list[tuple[str, object]]) -> None:
    width = max((len(label) for label, _ in rows), default=0)
    print(f"\n== {title} ==")
    for label, value in rows:
        print(f"  {label.ljust(width)} : {value}")
    print(end="", flush=True)


def write_summary_json(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Atomically write ``data`` as plain JSON (Counters, Paths, sets and tuples converted)."""
    from cft.common.jsonio import atomic_open, dumps

    with atomic_open(path) as f:
        f.write(dumps(_plain(data)))
        f.write(b"\n")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def human_size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def file_line(path: str | os.PathLike) -> str:
    path = Path(path)
    return f"{path} ({human_size(path.stat().st_size)})" if path.exists() else f"{path} (missing)"


def pct(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else f"{part}"


def histogram_line(counts: dict[int, int]) -> str:
    """``{0: 3, 1: 5}`` -> ``"0:3 1:5"`` (keys in order)."""
    return " ".join(f"{k}:{counts[k]}" for k in sorted(counts))
