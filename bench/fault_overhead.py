"""What the no-orphans design costs: the reaper's effect on generation throughput, and the re-exec at start.

  throughput  one engine (the tiny CPU model by default); rounds alternate, side by side:
              generation with no reaper process, and generation while a reaper watches this
              process (cft/reaper.py: it sleeps in one blocking poll on a pidfd). The median of
              the rounds' ratios (with / without) is printed, with their range.
  start       ``generate_solutions.py --help`` wall time with the run marker's re-exec
              (the default) and without it (CFT_NO_REAPER=1), alternating.
  locks       the time to take and release one chunk lock (cft/generate/chunk_lock.py), per chunk.

    python bench/fault_overhead.py [--rounds 7] [--problems 64] [--max_tokens 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary(name: str, ratios: list[float]) -> str:
    return (f"{name}: median {statistics.median(ratios):.3f} over {len(ratios)} rounds "
            f"(range {min(ratios):.3f}-{max(ratios):.3f})")


def bench_start(rounds: int) -> list[float]:
    script = [sys.executable, str(ROOT / "generate_solutions.py"), "--help"]
    ratios = []
    for r in range(rounds):
        times = {}
        for label, env in (("plain", {**os.environ, "CFT_NO_REAPER": "1"}), ("marked", dict(os.environ))):
            t0 = time.perf_counter()
            subprocess.run(script, env=env, stdout=subprocess.DEVNULL, check=True)
            times[label] = time.perf_counter() - t0
        ratios.append(times["marked"] / times["plain"])
        print(f"start round {r}: without re-exec {times['plain']:.2f} s, with {times['marked']:.2f} s", flush=True)
    return ratios


def bench_locks(n: int = 200) -> float:
    from cft.generate.chunk_lock import ChunkLock

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        for k in range(n):
            lock = ChunkLock(Path(d) / f"m_chunk_{k:03d}.json")
            assert lock.try_acquire() is None
            lock.release()
        return (time.perf_counter() - t0) / n


def main() -> None:
    from cft.common.reaper import mark_run

    mark_run()  # as generate_solutions.py does, so a reaper can watch this process
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="default: the tiny CPU model, built in a temp folder")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--problems", type=int, default=64)
    ap.add_argument("--num_samples", type=int, default=8)
    ap.add_argument("--max_tokens", type=int, default=64)
    ap.add_argument("--skip_start", action="store_true", help="skip the start-up comparison")
    args = ap.parse_args()

    from cft.common.reaper import start_reaper
    from cft.fixtures.tiny_model import build_tiny_model
    from cft.inference import BackendSpec, Request, Sampling, drive, open_backend
    from cft.records.prompts import FEW_SHOT

    lock_s = bench_locks()
    start = [] if args.skip_start else bench_start(args.rounds)
    work = Path(tempfile.mkdtemp(prefix="fault_overhead_"))
    model = args.model_path or str(build_tiny_model(work / "tiny"))
    prompts = [f"{FEW_SHOT}Q: What is {i} + {i % 7}?\nA:" for i in range(args.problems)]
    engine = open_backend(BackendSpec(model=model, seed=0, max_model_len=1024, enforce_eager=True, dtype="float32"))
    opened = start_reaper()  # the one open_backend started: stopped, so each round measures without, then with
    if opened is not None:
        opened.kill()
        opened.wait()
    sampling = Sampling(n=args.num_samples, temperature=0.7, top_p=0.95, max_tokens=args.max_tokens, stop=("\nQ:",))

    def generate(batch: list[str]) -> int:
        """Output tokens of every prompt of ``batch``, all in flight at once."""
        done = []
        drive(engine, (Request(i, prompt=p, sampling=sampling) for i, p in enumerate(batch)), len(batch), done.append)
        return sum(c.output_tokens for c in done)

    generate(prompts[:8])  # warm-up

    def tok_s() -> float:
        t0 = time.perf_counter()
        tokens = generate(prompts)
        return tokens / (time.perf_counter() - t0)

    ratios = []
    for r in range(args.rounds):
        without = tok_s()
        reaper = start_reaper()
        assert reaper is not None, "the run is not marked (CFT_NO_REAPER set?)"
        time.sleep(0.5)  # the reaper is up and waiting
        with_ = tok_s()
        reaper.kill()
        reaper.wait()
        ratios.append(with_ / without)
        print(f"round {r}: without reaper {without:7.0f} tok/s, with reaper {with_:7.0f} tok/s, "
              f"ratio {with_ / without:.3f}", flush=True)
    print(f"model {model}; {args.problems} prompts x {args.num_samples} samples, max_tokens {args.max_tokens}")
    print(summary("throughput with reaper / without", ratios))
    if start:
        print(summary("generate_solutions.py --help wall time, with re-exec / without", start))
    print(f"chunk lock: {1000 * lock_s:.2f} ms to take and release (once per chunk)")


if __name__ == "__main__":
    main()
