"""Step 1's request loop (cft.generate.run) on a scripted backend: chunks overlap in flight, each chunk's file is
written in its own order as soon as its last problem is back, a chunk locked by another process is waited for
while the chunks in flight are written, per-request seeds reach the requests and the rows, and a backend that
fails names the chunks in flight and how many chunks are whole.

The backend here is a stand-in of the ``cft.inference.Backend`` interface (replies made up, in a chosen order);
the real engine and server run the same loop in test_generate.py, test_faults.py and test_gen_server.py."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from conftest import chunk_path

from cft.common.errors import CftError
from cft.generate.chunk_lock import ChunkLock
from cft.generate.plan import RunConfig, plan
from cft.generate.run import run, start_grading_pool
from cft.inference import Backend, BackendError, BackendSpec, Completion, Sample, request_seed
from cft.records.models import get_model


class Scripted(Backend):
    """Gives back the newest request in flight first (so problems and chunks come back out of order), one per
    ``wait``;
    ``fail_after``: raises a BackendError once that many have come back."""

    def __init__(self, fail_after: int | None = None, seeds: bool = False, counts: bool = True):
        self.pending, self.submitted, self.returned = [], [], []
        self.fail_after, self.seeds, self.counts = fail_after, seeds, counts
        self.chunks_in_flight: list[set[int]] = []  # after each submit: the chunks of the requests in flight

    def submit(self, request) -> None:
        self.pending.append(request)
        self.submitted.append(request)
        self.chunks_in_flight.append({r.key // 2 for r in self.pending})

    def wait(self, timeout=None):
        if not self.pending:
            return []
        if self.fail_after is not None and len(self.returned) >= self.fail_after:
            raise BackendError("http://127.0.0.1:9: gave up on request 7 after 3 s of retries")
        r = self.pending.pop()
        self.returned.append(r.key)
        text = f"So {r.key} it is, \\boxed{{{r.key + r.key % 7}}}"
        samples = [Sample(text, "stop", 9 if self.counts else None) for _ in range(r.sampling.n)]
        return [Completion(r.key, samples, 20, 9 * r.sampling.n)]

    @property
    def in_flight(self):
        return len(self.pending)

    @property
    def sequences_in_flight(self):
        return sum(r.sampling.n for r in self.pending)

    @property
    def capacity(self):
        return None

    def describe(self):
        return {"backend": "scripted", "per_request_seeds": self.seeds}

    def close(self):
        self.pending.clear()


@pytest.fixture(scope="module")
def pool():
    with start_grading_pool(1) as p:
        yield p


def make_plan(tiny_model, gen_input, out, **kw):
    backend = BackendSpec(model=str(tiny_model), max_model_len=512, max_in_flight=3, server_seeds=True,
                          seed=kw.pop("seed", 0))
    config = RunConfig(spec=get_model("qwen25"), backend=backend, input_file=gen_input, output_dir=out,
                       chunk_size=2, num_samples=2, max_tokens=16, **kw)
    return plan(config, log=lambda m: None)


def test_chunks_overlap_and_each_file_is_whole_in_order(tiny_model, gen_input, tmp_path, pool):
    work = make_plan(tiny_model, gen_input, tmp_path)
    for cid in (0, 3):  # what writers killed with kill -9 left: removed by the writer that takes the chunk
        chunk_path(tmp_path, cid).with_name(f".{chunk_path(tmp_path, cid).name}.k9x1.tmp").write_bytes(b'{"meta')
    backend, said = Scripted(), []
    outcome = run(work, backend, pool=pool, log=said.append)
    assert not list(tmp_path.glob("*.tmp"))
    assert outcome.written == [1, 2, 3, 4, 5, 0] and not outcome.stopped  # newest first: chunk 0 waits longest
    assert max(len(c) for c in backend.chunks_in_flight) == 2  # the next chunk went in before this one was back
    assert [r.key for r in backend.submitted] == list(range(12))  # pulled in order, one request per problem
    assert backend.returned != sorted(backend.returned)  # came back out of order...
    for cid in range(6):
        data = orjson.loads(chunk_path(tmp_path, cid).read_bytes())
        assert [r["index"] for r in data["results"]] == [2 * cid, 2 * cid + 1]  # ...written in the chunk's order
        assert data["metadata"]["backend"] == {"backend": "scripted", "per_request_seeds": False}
        assert all("seed" not in r for r in data["results"])
        assert all(s["grade"] == "correct" and s["num_tokens"] == 9 for r in data["results"] for s in r["solutions"])
    assert said[0].startswith("chunk ") and "2 problems, 4 samples, 36 output tokens" in said[0]
    assert not list(tmp_path.glob(".*.lock*"))


def test_per_request_seeds_and_counted_tokens(tiny_model, gen_input, tmp_path, pool):
    """A backend that takes per-request seeds gets one per problem, recorded on its row; samples without a token
    count (a hosted API with n > 1) are counted with the model's tokenizer."""
    work = make_plan(tiny_model, gen_input, tmp_path, seed=5)
    backend = Scripted(seeds=True, counts=False)
    run(work, backend, pool=pool, log=lambda m: None)
    assert [r.sampling.seed for r in backend.submitted] == [request_seed(5, i) for i in range(12)]
    assert len(set(r.sampling.seed for r in backend.submitted)) == 12
    rows = orjson.loads(chunk_path(tmp_path, 3).read_bytes())["results"]
    assert [r["seed"] for r in rows] == [request_seed(5, 6), request_seed(5, 7)]
    expected = len(work.tokenizer("So 6 it is, \\boxed{12}", add_special_tokens=False).input_ids)
    assert [s["num_tokens"] for s in rows[0]["solutions"]] == [expected, expected]


def test_a_locked_chunk_is_waited_for_while_the_chunks_in_flight_are_written(tiny_model, gen_input, tmp_path, pool):
    work = make_plan(tiny_model, gen_input, tmp_path, wait_locked=True, chunk_ids=[0, 1])
    held = ChunkLock(chunk_path(tmp_path, 1))
    assert held.try_acquire() is None
    said = []

    def release_once_chunk_0_is_written():
        deadline = time.monotonic() + 120
        while not chunk_path(tmp_path, 0).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        held.release()

    releaser = threading.Thread(target=release_once_chunk_0_is_written)
    releaser.start()
    outcome = run(work, Scripted(), pool=pool, log=said.append)
    releaser.join()
    assert outcome.written == [0, 1]
    assert any(line.startswith("chunk 001: waiting, locked by") for line in said)


def test_a_backend_that_fails_names_the_chunks_in_flight(tiny_model, gen_input, tmp_path, pool):
    work = make_plan(tiny_model, gen_input, tmp_path)
    with pytest.raises(CftError) as e:
        run(work, Scripted(fail_after=5), pool=pool, log=lambda m: None)
    whole = sorted(p.name for p in tmp_path.glob("*_chunk_*.json"))
    message = str(e.value)
    assert message.startswith("http://127.0.0.1:9: gave up on request 7 after 3 s of retries; stopped with chunk ")
    assert f"in flight, left absent: {len(whole)} of 6 chunks are whole in {tmp_path} (rerun" in message
    assert 1 <= len(whole) < 6
    for name in whole:
        orjson.loads((tmp_path / name).read_bytes())
    in_flight = [int(part[6:9]) for part in message.split("stopped with ")[1].split(" in flight")[0].split(", ")]
    assert not any(chunk_path(tmp_path, cid).exists() for cid in in_flight)
    assert not list(tmp_path.glob(".*.lock*"))  # the locks of the chunks in flight are released


def test_chunk_files_past_the_last_chunk_are_another_runs(tiny_model, gen_input, tmp_path):
    """A rerun with a larger --chunk_size: the old run's chunks past the new last one would stop merge
    ("chunk 9 is out of range"); step 1 refuses them in one line, and removes them with --overwrite."""
    stale = chunk_path(tmp_path, 9)
    stale.write_bytes(b'{"metadata": {}, "results": []}')
    with pytest.raises(CftError, match=r"chunk_009\.json: chunk 9 of another run \(12 problems in chunks of 2 make "
                                       r"6 chunks\); pass --overwrite to remove the 1 such file"):
        make_plan(tiny_model, gen_input, tmp_path)
    said = []
    config = RunConfig(spec=get_model("qwen25"), backend=BackendSpec(model=str(tiny_model), max_model_len=512),
                       input_file=gen_input, output_dir=tmp_path, chunk_size=2, num_samples=2, max_tokens=16,
                       overwrite=True)
    work = plan(config, log=said.append)
    assert not stale.exists() and len(work.todo) == 6
    assert said[0] == "removed 1 chunk file(s) of another run past this run's 6 chunks (--overwrite): 9"
