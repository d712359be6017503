"""Launch commands for step 1: per-GPU shell lines, or a Slurm job-array script.

Shell: for each model, a header comment naming the model, then exactly one
line per GPU (``CUDA_VISIBLE_DEVICES=g``, chunks g, g+G, ... in sequence, one
engine per GPU). Command lines name the model by its alias, so the header is
the only line holding the full name and ``grep -A <G> "<model>"`` cuts out
exactly one runnable block.

Slurm: one array task per chunk, one GPU each; a finished chunk's file makes
its task a no-op on rerun, so resubmitting the array finishes what is left.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from cft.records.models import ModelSpec


def worker_chunks(total_chunks: int, num_gpus: int) -> list[list[int]]:
    return [list(range(g, total_chunks, num_gpus)) for g in range(num_gpus)]


def base_command(python: str, root: Path, spec: ModelSpec, args: dict[str, object], extra: list[str]) -> list[str]:
    cmd = [python, str(root / "generate_solutions.py"), "--model", spec.alias]
    for key, value in args.items():
        if value is not None:
            cmd += [f"--{key}", str(value)]
    return cmd + extra


def shell_block(spec: ModelSpec, cmd: list[str], total_chunks: int, chunk_size: int, num_gpus: int,
                log_dir: Path) -> list[str]:
    lines = [f"# {spec.name}: {total_chunks} chunks of {chunk_size} on {num_gpus} GPUs "
             f"(GPU g runs chunks g, g+{num_gpus}, ...); logs in {log_dir}"]
    for g, chunks in enumerate(worker_chunks(total_chunks, num_gpus)):
        log = log_dir / f"{spec.alias}_gpu{g}.log"
        if not chunks:
            lines.append(f"echo 'GPU {g}: no chunk for {spec.alias}'")
            continue
        line = " ".join(shlex.quote(c) for c in cmd + ["--chunk_id", *map(str, chunks)])
        lines.append(f"mkdir -p {shlex.quote(str(log_dir))} && CUDA_VISIBLE_DEVICES={g} nohup {line} "
                     f"> {shlex.quote(str(log))} 2>&1 &")
    return lines


def slurm_script(spec: ModelSpec, cmd: list[str], total_chunks: int, root: Path, log_dir: Path,
                 max_concurrent: int, partition: str | None, time_limit: str, cpus: int, mem: str,
                 grace_s: int = 120) -> str:
    """The job-array script. Preemption and time limits: ``--requeue`` puts a preempted task back in
    the queue, ``--signal=B:TERM@grace_s`` sends SIGTERM that long before the time limit, and the
    script ``exec``s generate_solutions.py so that SIGTERM reaches it; with ``--term_grace_s`` it then
    finishes the chunk in flight if it can end in time, else leaves it absent (cft/graceful_stop.py)."""
    sbatch = [
        f"#SBATCH --job-name=cft-{spec.alias}",
        f"#SBATCH --array=0-{total_chunks - 1}%{max_concurrent}",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks=1",
        "#SBATCH --gres=gpu:1",
        f"#SBATCH --cpus-per-task={cpus}",
        f"#SBATCH --mem={mem}",
        f"#SBATCH --time={time_limit}",
        f"#SBATCH --output={log_dir}/{spec.alias}_chunk_%a_%A.log",
        "#SBATCH --requeue",
        f"#SBATCH --signal=B:TERM@{grace_s}",
    ]
    if partition:
        sbatch.append(f"#SBATCH --partition={partition}")
    command = " ".join(shlex.quote(c) for c in [*cmd, "--term_grace_s", str(max(0, grace_s - 10))])
    return "\n".join([
        "#!/usr/bin/env bash",
        f"# {spec.name}: one array task per chunk ({total_chunks} chunks), one GPU each.",
        "# Submit with: sbatch <this file>. Resubmitting skips finished chunks (their files exist).",
        f"# Preempted tasks are requeued; SIGTERM (preemption, or {grace_s} s before the time limit) finishes",
        "# the chunk in flight if it can end in time, else leaves it absent for the requeue or a resubmission.",
        *sbatch,
        "set -euo pipefail",
        f"mkdir -p {shlex.quote(str(log_dir))}",
        f"cd {shlex.quote(str(root))}",
        'echo "chunk ${SLURM_ARRAY_TASK_ID} of ' + spec.alias + ' on $(hostname), GPU ${CUDA_VISIBLE_DEVICES:-?}"',
        f'exec {command} --chunk_id "${{SLURM_ARRAY_TASK_ID}}"',
        "",
    ])
