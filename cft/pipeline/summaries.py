"""The pipeline's record: the closing summary that joins the steps' summaries, and the summaries of steps
the pipeline did not run (skipped, or generation resumed with every chunk already there).

The closing summary prints, step by step in order, the lines each step marked for it
(``cft.common.summary.Summary``'s ``headline``), and joins the steps' JSON into
``pipeline_summary.json`` as ``{"steps": {<name>: {...}}, "outputs": [...], "wall_s": ...}``
(``<name>``: the summary file's name without ``summary_``). It knows no step's keys.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file
from cft.common.paths import summary_step
from cft.common.summary import Summary, command_line, print_rows, write_summary_json


def pipeline_summary(files: list[str | os.PathLike], output: str | os.PathLike, wall_s: float) -> dict:
    steps: dict[str, dict] = {}
    rows: list[tuple[str, object]] = []
    for path in map(Path, files):
        if not path.exists():
            continue
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise CftError(f"{path}: not a step summary ({e})") from None
        steps[summary_step(path)] = data
        rows += [(str(label), text) for label, text in data.get("headline", [])]
    rows.append(("wall time", f"{wall_s:.0f} s"))
    outputs = [p for data in steps.values() for p in data.get("outputs", [])]
    data = {"steps": steps, "outputs": outputs, "wall_s": round(wall_s, 1), "headline": [list(r) for r in rows]}
    print_rows("pipeline", rows)
    write_summary_json(output, data)
    return data


def skipped(path: str | os.PathLike, step: str, label: str, text: str) -> None:
    """The summary of a step the run skipped (``"skipped": true``), with the command that skipped it."""
    write_summary_json(path, {"step": step, "skipped": True, "outputs": [], "headline": [[label, text]],
                              "command": command_line()})


def chunk_metadata(path: Path) -> dict:
    """A chunk file's metadata, its rows left unread."""
    metadata, rows = open_results_file(path)
    close = getattr(rows, "close", None)
    if close:
        close()
    return metadata


def resumed_generation(path: str | os.PathLike, alias: str, model: str, chunks: dict[int, Path],
                       command: list[str]) -> None:
    """The summary of a generation step not run because every chunk file of the run was there: what the chunk
    files' metadata records (``"resumed": true``; none written, all skipped), with the command that makes them.

    Keys as step 1's own summary (``generate_solutions.py``) where the metadata holds them: the card reads
    ``grader_version`` (recorded in chunks since it exists; absent, the card says it is not recorded)."""
    metas = {cid: chunk_metadata(p) for cid, p in sorted(chunks.items())}
    ids = list(metas)
    samples = sum((m["end_index"] - m["start_index"]) * m.get("num_samples", 0) for m in metas.values())
    tokens = sum(m.get("output_tokens", 0) for m in metas.values())
    graders = sorted({str(m["grader_version"]) for m in metas.values() if m.get("grader_version") is not None})
    first = metas[ids[0]] if ids else {}
    s = Summary(f"generate_{alias}", f"generate {model}")
    s.row("chunks written", "none: every chunk file was there (resumed)", key="chunks_written", value=[])
    s.row("chunks skipped (done)", ids, key="chunks_skipped", value=ids)
    s.fact("resumed", True).fact("chunks_locked", []).fact("chunks_done_elsewhere", []).fact("stopped", False)
    s.fact("chunks_missing", [])
    s.row("samples", samples, key="samples")
    s.row("output tokens", tokens, key="output_tokens")
    s.fact("max_tokens", (first.get("sampling") or {}).get("max_tokens"))
    s.row("weights", first.get("model_path", "not recorded"), key="model_path")
    if graders:
        s.row("grader version", ", ".join(graders), key="grader_version")
    else:
        s.row("grader version", "not recorded in the chunk files (written by an older version)")
    s.row("output dir", Path(chunks[ids[0]]).parent if ids else "-")
    s.brief(f"generated {alias}", f"0 chunks written, {len(ids)} already done (resumed); {samples} samples")
    for cid in ids:
        s.output(chunks[cid])
    s.emit()
    write_summary_json(path, {**s.data(), "command": command_line(command)})
