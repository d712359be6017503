"""Step summaries: a titled block of aligned ``label: value`` lines on stdout, and the same
facts as JSON (``--summary_json``) for scripts and tests to read instead of scraping text."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


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


def print_summary(title: str, rows: Iterable[tuple[str, object]], json_path: str | os.PathLike | None = None,
                  data: dict[str, Any] | None = None) -> None:
    """Print ``rows`` under ``title``; with ``json_path``, also write ``data`` there (see ``write_summary_json``)."""
    rows = list(rows)
    width = max((len(label) for label, _ in rows), default=0)
    print(f"\n== {title} ==")
    for label, value in rows:
        print(f"  {label.ljust(width)} : {value}")
    if json_path:
        write_summary_json(json_path, title, data or {})


def write_summary_json(path: str | os.PathLike, step: str, data: dict[str, Any]) -> None:
    """Atomically write ``{"step": step, **data}``: a step's counts, timings (``*_s``) and
    ``outputs`` (paths), in plain JSON types (Counters and Paths are converted)."""
    from cft.jsonio import atomic_open, dumps

    with atomic_open(path) as f:
        f.write(dumps(_plain({"step": step, **data})))
        f.write(b"\n")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def histogram_line(counts: dict[int, int]) -> str:
    """``{0: 3, 1: 5}`` -> ``"0:3 1:5"`` (keys in order)."""
    return " ".join(f"{k}:{counts[k]}" for k in sorted(counts))


def pipeline_summary(summary_dir: str | os.PathLike, output: str | os.PathLike, wall_s: float) -> dict:
    """Join the steps' ``summary_<step>.json`` files in ``summary_dir`` into ``output``; print the
    lines a person reads at the end of ``run_full_pipeline.sh``."""
    import orjson

    order = ("decontaminate", "generate_", "merge", "filter", "critique", "format")  # the pipeline's

    def rank(path: Path) -> tuple[int, str]:
        name = path.stem.removeprefix("summary_")
        return next((k for k, step in enumerate(order) if name.startswith(step)), len(order)), name

    steps = {p.stem.removeprefix("summary_"): orjson.loads(p.read_bytes())
             for p in sorted(Path(summary_dir).glob("summary_*.json"), key=rank)}
    rows: list[tuple[str, object]] = []
    if "decontaminate" in steps:
        d = steps["decontaminate"]
        why = [f"{n} match {name}" for name, n in d["contaminated"].items()]
        why += [f"{d['duplicates']} duplicates"] if d.get("dedup") else []
        rows.append(("step 0 removed", f"{d['removed']} of {d['problems_in']} ({', '.join(why)}); "
                                       f"list: {d['report']}"))
    else:
        rows.append(("step 0", "skipped (--no_decontaminate)"))
    for name, g in steps.items():
        if name.startswith("generate_"):
            accuracy = f"{100 * g['correct'] / g['samples']:.1f}%" if g["samples"] else "-"
            rows.append((f"generated {name.removeprefix('generate_')}",
                         f"{len(g['chunks_written'])} chunks written, {len(g['chunks_skipped'])} already done; "
                         f"{g['samples']} samples, accuracy {accuracy}"))
    if "filter" in steps:
        f = steps["filter"]
        rows += [("problems in", f["problems_in"]), ("kept", pct(f["kept"], f["problems_in"]))]
        rows += [(f"removed: {reason}", pct(n, f["problems_in"])) for reason, n in f["removed"].items()]
        rows += [tuple(row) for row in f.get("label_summary") or []]  # filter --analyze's label report
    if "critique" in steps:
        c = steps["critique"]
        rows += [("critique rows", c["rows"])]
        rows += [(label, pct(c["targets"].get(label, 0), c["rows"])) for label in ("right", "wrong")]
        if c.get("max_prompt_tokens"):
            over = sum(o["solutions"] for o in c.get("over_budget", []))
            rows.append(("prompt budget", f"{c['max_prompt_tokens']} tokens: {over} solutions over it, not drawn"))
    if "format" in steps:
        fm = steps["format"]
        rows.append(("training rows", fm["rows"]))
        held = fm.get("val_problems", 0)
        rows.append(("held out (validation)", f"{fm.get('val_rows', 0)} rows of {held} problem{'s' * (held != 1)}"))
    outputs = [path for name, s in steps.items() if not name.startswith("generate_")  # (chunk files: many)
               for path in s.get("outputs", [])]
    for path in outputs:
        rows.append(("wrote", file_line(path)))
    rows.append(("wall time", f"{wall_s:.0f} s"))
    data = {"steps": steps, "outputs": outputs, "wall_s": round(wall_s, 1)}
    print_summary("pipeline", rows, output, data)
    return data


if __name__ == "__main__":  # python -m cft.report SUMMARY_DIR OUTPUT_JSON WALL_S (run_full_pipeline.sh)
    import sys

    pipeline_summary(sys.argv[1], sys.argv[2], float(sys.argv[3]))
