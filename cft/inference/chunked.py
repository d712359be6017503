"""A backend driven over a work plan's chunks (``cft.common.work``), each chunk's file written once its last item
is back: step 6's teacher and the critic's report card run their model this way.

One request per item, made lazily in chunk order by the step (``request_for``), so items of the next chunk
join the batch while the current chunk's longest samples finish (``drive``). Each item's result row is
its ``position``, the step's own fields (``fields_for``), ``prompt_tokens`` and ``samples`` (``text``,
``finish_reason``, ``num_tokens``): the replies as they came, unread, so reading them again (a new parser, a
new rule) needs no model. When the last item of a chunk comes back, its file is written atomically; a kill
loses at most the chunks in flight.

A backend that gives up (a server down past its timeout, a request refused) stops the run with one line:
the backend's reason (naming the request, ``chunk NNN row P``), the chunk that was not finished, and how
many of the run's chunks are whole in the work folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cft.common.errors import CftError
from cft.common.progress import progress_bar
from cft.common.work import Chunk, WorkPlan, whole_chunks, write_chunk
from cft.inference.loop import drive
from cft.inference.types import Backend, BackendError, Completion, Request


@dataclass
class ChunkRun:
    written: list[int] = field(default_factory=list)  # chunk ids written by this run
    samples: int = 0
    output_tokens: int = 0
    generate_s: float = 0.0  # from the first request to the last reply


def request_key(chunk: Chunk, position: int) -> str:
    return f"chunk {chunk.chunk_id:03d} row {position}"


def run_chunks(work: WorkPlan, backend: Backend, request_for: Callable[[object, str], Request], *,
               max_in_flight: int, fields_for: Callable[[object], dict] | None = None, desc: str = "rows",
               noun: str = "samples") -> ChunkRun:
    """Send ``request_for(item, key)`` for every item of ``work.todo`` and write each chunk as it completes;
    ``desc`` names the progress bar, ``noun`` the samples in the chunk lines."""
    report = ChunkRun()
    if not work.todo:
        return report
    keys: dict[str, tuple[Chunk, object]] = {}
    pending: dict[int, list[dict]] = {c.chunk_id: [] for c in work.todo}
    bar = progress_bar(total=sum(len(c.items) for c in work.todo), desc=desc, unit="row")

    def requests():
        for chunk in work.todo:
            for item in chunk.items:
                key = request_key(chunk, item.position)
                keys[key] = (chunk, item)
                yield request_for(item, key)

    def on_done(c: Completion) -> None:
        chunk, item = keys.pop(c.key)
        results = pending[chunk.chunk_id]
        results.append({"position": item.position, **(fields_for(item) if fields_for else {}),
                        "prompt_tokens": c.prompt_tokens,
                        "samples": [{"text": s.text, "finish_reason": s.finish_reason, "num_tokens": s.num_tokens}
                                    for s in c.samples]})
        report.samples += len(c.samples)
        report.output_tokens += c.output_tokens or 0
        bar.update(1)
        if len(results) == len(chunk.items):
            write_chunk(work, chunk, results, {"output_tokens": sum(
                s["num_tokens"] or 0 for r in results for s in r["samples"]), "backend": backend.describe()})
            del pending[chunk.chunk_id]
            report.written.append(chunk.chunk_id)
            bar.write(f"chunk {chunk.chunk_id:03d}: {len(chunk.items)} rows, "
                      f"{sum(len(r['samples']) for r in results)} {noun} written to {chunk.path.name}")

    t0 = time.perf_counter()
    try:
        drive(backend, requests(), max_in_flight, on_done)
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
