"""Launch commands for step 1: per-GPU shell lines, or a Slurm job-array script; each either with one
in-process engine per GPU, or (``serve``) with vLLM servers started on the node and one generation
process pointed at them (``serve_and_generate.sh``).

Shell: for each model, a header comment naming the model, then exactly one
line per GPU (``CUDA_VISIBLE_DEVICES=g``, chunks g, g+G, ... in sequence, one
engine per GPU); with ``serve``, one line for the whole node. Command lines name
the model by its alias, so the header is the only line holding the full name and
``grep -A <lines> "<model>"`` cuts out exactly one runnable block.

Slurm: one array task per chunk, one GPU each; with ``serve``, one array task per
node (all its GPUs), task i running the chunks i, i + nodes, ... through the
node's own servers. A finished chunk's file makes its task (or its part of a
node's task) a no-op on rerun, so resubmitting the array finishes what is left.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from cft.records.models import ModelSpec
from cft.slurm.scripts import sbatch_lines


def worker_chunks(total_chunks: int, num_gpus: int) -> list[list[int]]:
    return [list(range(g, total_chunks, num_gpus)) for g in range(num_gpus)]


def base_command(python: str, root: Path, spec: ModelSpec, args: dict[str, object], extra: list[str]) -> list[str]:
    cmd = [python, str(root / "generate_solutions.py"), "--model", spec.alias]
    for key, value in args.items():
        if value is not None:
            cmd += [f"--{key}", str(value)]
    return cmd + extra


def serve_command(root: Path, python: str, model_path: str, num_gpus: int, servers: int, port: int,
                  server_args: str, log_dir: Path, gen_flags: list[str]) -> list[str]:
    """``serve_and_generate.sh``: servers on this node's GPUs, then generation (``gen_flags``) through them."""
    cmd = [str(root / "serve_and_generate.sh"), "--python", python, "--model_path", model_path, "--gpus",
           str(num_gpus), "--servers", str(servers), "--port", str(port), "--log_dir", str(log_dir)]
    return cmd + (["--server_args", server_args] if server_args else []) + ["--", *gen_flags]


def serve_block(spec: ModelSpec, cmd: list[str], total_chunks: int, chunk_size: int, num_gpus: int, servers: int,
                log_dir: Path) -> list[str]:
    """One node: a header, then one line that starts the servers and the generation in the background."""
    log = log_dir / f"{spec.alias}_serve.log"
    line = " ".join(shlex.quote(c) for c in cmd)
    return [f"# {spec.name}: {total_chunks} chunks of {chunk_size} on one node: {servers} vLLM server(s) on its "
            f"{num_gpus} GPUs (--data-parallel-size {num_gpus // servers} each), one generation process; logs in "
            f"{log_dir}",
            f"mkdir -p {shlex.quote(str(log_dir))} && nohup {line} > {shlex.quote(str(log))} 2>&1 &"]


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
                 grace_s: int = 120, nodes: int | None = None, gpus: int = 1, account: str | None = None,
                 qos: str | None = None) -> str:
    """The job-array script. Preemption and time limits: ``--requeue`` puts a preempted task back in
    the queue, ``--signal=B:TERM@grace_s`` sends SIGTERM that long before the time limit, and the
    script ``exec``s ``cmd`` (generate_solutions.py, or serve_and_generate.sh, which passes SIGTERM to
    the generation) so that SIGTERM reaches it; with ``--term_grace_s`` it then finishes the chunks in
    flight that can end in time, else leaves them absent (cft/generate/graceful_stop.py). A task's log
    (``<alias>_chunk_<task>_<array job>.log``) is opened with ``--open-mode=append``: a requeued task
    (same job id) adds its attempt to it, after a line naming the attempt (``SLURM_RESTART_COUNT``),
    instead of replacing the attempt that was preempted.

    ``nodes``: one array task per node (``gpus`` each, the whole node) instead of one per chunk; task i
    runs chunks i, i + nodes, ... (``--worker_id``)."""
    tasks = total_chunks if nodes is None else nodes
    sbatch = [
        *sbatch_lines(f"cft-{spec.alias}", f"{log_dir}/{spec.alias}_{'chunk' if nodes is None else 'node'}_%a_%A.log",
                      cpus=cpus, mem=mem, time_limit=time_limit, gpus=gpus, array=f"0-{tasks - 1}%{max_concurrent}",
                      partition=partition, account=account, qos=qos),
        "#SBATCH --requeue",
        f"#SBATCH --signal=B:TERM@{grace_s}",
    ]
    if nodes is not None:
        sbatch.append("#SBATCH --exclusive")
    command = " ".join(shlex.quote(c) for c in [*cmd, "--term_grace_s", str(max(0, grace_s - 10))])
    if nodes is None:
        what = f"one array task per chunk ({total_chunks} chunks), one GPU each"
        task = "chunk ${SLURM_ARRAY_TASK_ID}"
        which = '--chunk_id "${SLURM_ARRAY_TASK_ID}"'
    else:
        what = (f"one array task per node ({nodes} nodes, {gpus} GPUs each): vLLM servers on the node, "
                f"one generation process through them; task i runs chunks i, i+{nodes}, ... of {total_chunks}")
        task = "node ${SLURM_ARRAY_TASK_ID}"
        which = f'--worker_id "${{SLURM_ARRAY_TASK_ID}}" --num_workers {nodes}'
    return "\n".join([
        "#!/usr/bin/env bash",
        f"# {spec.name}: {what}.",
        "# Submit with: sbatch <this file>. Resubmitting skips finished chunks (their files exist).",
        f"# Preempted tasks are requeued; SIGTERM (preemption, or {grace_s} s before the time limit) finishes",
        "# the chunks in flight that can end in time, else leaves them absent for the requeue or a resubmission.",
        *sbatch,
        "set -euo pipefail",
        f"mkdir -p {shlex.quote(str(log_dir))}",
        f"cd {shlex.quote(str(root))}",
        f'echo "=== $(date \'+%F %T\') {task} of {spec.alias}, '
        f'job ${{SLURM_ARRAY_JOB_ID:-?}}_${{SLURM_ARRAY_TASK_ID}}, attempt ${{SLURM_RESTART_COUNT:-0}}, '
        f'on $(hostname), GPUs ${{CUDA_VISIBLE_DEVICES:-?}}"',
        f"exec {command} {which}",
        "",
    ])
