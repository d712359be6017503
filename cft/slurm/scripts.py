"""The ``#SBATCH`` lines every script of ours starts with: one task on one node, its resources, its log
(appended to: a requeued job adds its attempt), and where it runs (partition, account, QOS)."""

from __future__ import annotations

from pathlib import Path


def sbatch_lines(job_name: str, output: str | Path, *, cpus: int, mem: str, time_limit: str, gpus: int = 0,
                 array: str | None = None, partition: str | None = None, account: str | None = None,
                 qos: str | None = None) -> list[str]:
    """``output``: the log's path, with Slurm's patterns (``%j``, ``%A``, ``%a``); ``gpus``: ``--gres=gpu:N``
    (none at 0)."""
    lines = [f"#SBATCH --job-name={job_name}",
             *([f"#SBATCH --array={array}"] if array else []),
             "#SBATCH --nodes=1",
             "#SBATCH --ntasks=1",
             *([f"#SBATCH --gres=gpu:{gpus}"] if gpus else []),
             f"#SBATCH --cpus-per-task={cpus}",
             f"#SBATCH --mem={mem}",
             f"#SBATCH --time={time_limit}",
             f"#SBATCH --output={output}",
             "#SBATCH --open-mode=append"]
    for flag, value in (("partition", partition), ("account", account), ("qos", qos)):
        if value:
            lines.append(f"#SBATCH --{flag}={value}")
    return lines
