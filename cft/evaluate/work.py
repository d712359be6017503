"""The report card's work folders: the critic's replies, one chunk file per chunk of cases (``cft.common.work``).

``<output_dir>/work_outcome/`` holds the replies to the outcome cases and ``<output_dir>/work_steps/`` those
to the step-level cases, ``chunk_<NNN>.json`` each, written atomically as each chunk completes: a rerun
skips the chunks of the same run and refuses any other (``--overwrite`` replaces them), so a killed
evaluation resumes where it stopped and two critics' replies never mix. A chunk is this run's when
``RUN_KEYS`` agree: the data's hash, the cases taken, the chunking, the model, its sampling and the prompt
version. The replies are stored unread: the figures are computed from them on every run, so reading them
again with another rule costs no model time.

Requests: an outcome case is sent the row's own prompt messages; a step-level case the step prompt
(``cft.evaluate.prompts``). With ``--server_seeds`` (and a backend that honours them) each request carries
its own seed, ``cft.inference.request_seed(seed, "<kind> <position>")``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cft.common import work as chunks
from cft.common.work import WorkPlan, read_chunk
from cft.evaluate.prompts import step_prompt
from cft.inference import Request, Sampling, request_seed

FORMAT_VERSION = 1
OUTCOME, STEPS = "outcome", "steps"
RUN_KEYS = ("format_version", "kind", "chunk_size", "num_chunks", "rows", "max_cases", "input_sha256", "model",
            "sampling", "prompt_version")


def work_dir(output_dir: str | Path, kind: str) -> Path:
    return Path(output_dir) / f"work_{kind}"


def run_record(kind: str, *, rows: int, chunk_size: int, max_cases: int | None, input_name: str, input_sha256: str,
               model: str, sampling: dict, prompt_version: int | None) -> dict:
    return {"format_version": FORMAT_VERSION, "kind": kind, "chunk_size": chunk_size,
            "num_chunks": -(-rows // chunk_size), "rows": rows, "max_cases": max_cases, "input": input_name,
            "input_sha256": input_sha256, "model": model, "sampling": sampling, "prompt_version": prompt_version}


def plan(kind: str, items: list, output_dir: str | Path, run: dict, overwrite: bool) -> WorkPlan:
    return chunks.plan(items, work_dir(output_dir, kind), run, RUN_KEYS, overwrite, elsewhere="another --output_dir")


def request_for(kind: str, sampling: Sampling, seeds: bool):
    """The function making an item's request: the row's own messages (outcome) or the step prompt."""
    def make(item, key: str) -> Request:
        if kind == OUTCOME:
            messages = [dict(m) for m in item.messages]
        else:
            messages = [{"role": "user", "content": step_prompt(item.problem, item.steps)}]
        seed = request_seed(sampling.seed, f"{kind} {item.position}") if seeds else None
        return Request(key, messages=messages, sampling=replace(sampling, seed=seed))

    return make


def replies(work: WorkPlan) -> dict[int, list[str]]:
    """Each case's reply texts, by position, from the plan's chunk files (all whole once the run is done)."""
    out: dict[int, list[str]] = {}
    for chunk in work.chunks:
        for row in read_chunk(chunk.path)[1]:
            out[row["position"]] = [s["text"] for s in row["samples"]]
    return out
