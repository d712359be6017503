"""Dependent Slurm jobs: submit scripts chained with ``--dependency=afterok``, read their tasks' states.

Uses the Slurm commands on ``PATH`` (``sbatch``, ``scontrol``, ``scancel``) and whatever cluster
they reach (``SLURM_CONF`` chooses another): no accounting is needed. A typical chain::

    from cft.slurm import submit
    gen = submit.sbatch("generate_qwen25.sbatch")                  # an array, one task per chunk
    merge = submit.sbatch("merge.sbatch", after_ok=[gen])            # starts once every task succeeded
    tasks = submit.wait([gen, merge])                               # until all have ended
    for task in submit.failures(tasks):
        print(submit.describe(task))  # job 12, task 3 (cft-qwen25): FAILED, exit 1; log /data/logs/...

A job submitted ``after_ok`` of others starts once every one of them (every task of an array) has
ended with exit 0. If one fails, is cancelled or times out, the dependency can never be satisfied:
``sbatch`` is given ``--kill-on-invalid-dep=yes``, so Slurm cancels the dependent job
(``CANCELLED``, reason ``DependencyNeverSatisfied``) instead of leaving it pending forever, and
the jobs that depend on it in turn. A requeued task (preemption) keeps its job id and counts as
one task: it is ``RUNNING``/``PENDING`` again, with ``restarts`` one higher.

States come from ``scontrol show job``, which knows a job until ``MinJobAge`` seconds (300 by
default) after it ended; a job it no longer knows is reported as one ``Task`` in state ``UNKNOWN``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cft.common.errors import CftError

# scontrol's job states: these end a task for good (a requeued task comes back PENDING, a preempted one may too)
ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "DEADLINE",
                   "BOOT_FAIL", "PREEMPTED", "SPECIAL_EXIT", "REVOKED"})
UNKNOWN = "UNKNOWN"
_FIELD = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9:/_]*)=")


class SlurmError(CftError):
    """A Slurm command failed or is missing (one line: the command and what it said)."""


@dataclass(frozen=True)
class Task:
    """One job, or one task of an array (tasks still pending together are one ``Task``, ``array_task``
    a range such as ``"3-7%2"``)."""

    job_id: str  # the id to pass to Slurm: "12", or "12_3" for task 3 of array 12
    name: str
    state: str  # PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... (UNKNOWN: scontrol has forgotten it)
    reason: str = "None"  # why it waits or failed: Dependency, DependencyNeverSatisfied, NonZeroExitCode, ...
    exit_code: str = "0:0"  # "<exit status>:<signal>" of the batch script
    restarts: int = 0  # times it was requeued
    log: str | None = None  # its --output file (the pattern expanded)
    array_job_id: str | None = None
    array_task: str | None = None

    @property
    def ended(self) -> bool:
        return self.state in ENDED or self.state == UNKNOWN

    @property
    def ok(self) -> bool:
        return self.state == "COMPLETED"

    @property
    def failed(self) -> bool:
        return self.ended and not self.ok


def _command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SlurmError(f"{name} not found on PATH: run this on a Slurm login node (or put Slurm's commands on PATH)")
    return path


def _run(*cmd: str, env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([_command(cmd[0]), *cmd[1:]], capture_output=True, text=True, check=False,
                       env=None if env is None else dict(env), cwd=cwd)
    if check and r.returncode:
        said = " ".join((r.stderr or r.stdout).split()) or f"exit {r.returncode}"
        raise SlurmError(f"{' '.join(cmd)}: {said}")
    return r


def sbatch(script: str | os.PathLike, *, after_ok: Iterable[str] = (), name: str | None = None,
           options: Sequence[str] = (), args: Sequence[str] = (), env: Mapping[str, str] | None = None,
           cwd: str | os.PathLike | None = None) -> str:
    """Submit ``script`` (its ``#SBATCH`` lines hold its resources); its job id.

    ``after_ok``: job ids (an array's id stands for all its tasks) that must all end with exit 0
    first; if one does not, Slurm cancels this job (``--kill-on-invalid-dep=yes``). ``options``: more
    ``sbatch`` flags (``--partition``, ``--account``, ``--qos``, ``--time``, ...), which override the
    script's. ``args``: the script's own arguments. ``env``: the environment to submit with (default:
    this process's; the job inherits it).
    """
    flags = ["--parsable"]
    deps = [str(j) for j in after_ok]
    if deps:
        flags += [f"--dependency=afterok:{':'.join(deps)}", "--kill-on-invalid-dep=yes"]
    if name:
        flags.append(f"--job-name={name}")
    r = _run("sbatch", *flags, *options, str(script), *args, env=env, cwd=cwd)
    job_id = r.stdout.strip().split(";")[0]  # "<id>" or "<id>;<cluster>"
    if not job_id.isdigit():
        raise SlurmError(f"sbatch {script}: no job id in its answer {r.stdout.strip()!r}")
    return job_id


def parse_show_job(text: str) -> list[Task]:
    """``scontrol show job -o`` output (one line per job or array task) as Tasks."""
    tasks = []
    for line in text.splitlines():
        fields = _fields(line)
        if "JobId" not in fields:
            continue
        array_id, array_task = fields.get("ArrayJobId"), fields.get("ArrayTaskId")
        job_id = f"{array_id}_{array_task}" if array_id and array_task and array_task.isdigit() else fields["JobId"]
        restarts = fields.get("Restarts", "0")
        tasks.append(Task(job_id=job_id, name=fields.get("JobName", ""), state=fields.get("JobState", UNKNOWN),
                          reason=fields.get("Reason", "None"), exit_code=fields.get("ExitCode", "0:0"),
                          restarts=int(restarts) if restarts.isdigit() else 0, log=fields.get("StdOut"),
                          array_job_id=array_id, array_task=array_task))
    return tasks


def _fields(line: str) -> dict[str, str]:
    """``Key=value Key=value ...``; a value runs to the next `` Key=`` (so it may hold spaces)."""
    marks = list(_FIELD.finditer(line))
    return {m.group(1): line[m.end():marks[k + 1].start() if k + 1 < len(marks) else len(line)].strip()
            for k, m in enumerate(marks)}


def tasks(job_id: str, env: Mapping[str, str] | None = None) -> list[Task]:
    """The job's tasks (every task of an array, by its array id), as ``scontrol show job`` knows them."""
    r = _run("scontrol", "show", "job", "-o", str(job_id), env=env, check=False)
    if r.returncode:
        if "Invalid job id" in r.stderr:
            return [Task(job_id=str(job_id), name="", state=UNKNOWN, reason="no longer known to slurmctld")]
        raise SlurmError(f"scontrol show job {job_id}: {' '.join(r.stderr.split())}")
    found = parse_show_job(r.stdout)
    return sorted(found, key=lambda t: (t.array_task is None or not t.array_task.isdigit(),
                                        int(t.array_task) if t.array_task and t.array_task.isdigit() else 0))


def wait(job_ids: Iterable[str], *, poll_s: float = 10.0, timeout_s: float | None = None,
         env: Mapping[str, str] | None = None, on_change=None) -> dict[str, list[Task]]:
    """Poll until every task of every job has ended; each job's tasks. ``on_change(job_id, tasks)`` is called
    whenever a job's states change. Raises ``SlurmError`` at ``timeout_s`` (the jobs keep running)."""
    job_ids = [str(j) for j in job_ids]
    end = None if timeout_s is None else time.monotonic() + timeout_s
    seen: dict[str, list[Task]] = {}
    while True:
        now = {j: tasks(j, env) for j in job_ids}
        for j, ts in now.items():
            if on_change and [(t.job_id, t.state, t.restarts) for t in ts] != \
                    [(t.job_id, t.state, t.restarts) for t in seen.get(j, [])]:
                on_change(j, ts)
        seen = now
        if all(t.ended for ts in now.values() for t in ts):
            return now
        if end is not None and time.monotonic() > end:
            running = [t.job_id for ts in now.values() for t in ts if not t.ended]
            raise SlurmError(f"jobs still running after {timeout_s:.0f} s: {', '.join(running)}")
        time.sleep(poll_s)


def failures(found: Mapping[str, list[Task]] | Iterable[Task]) -> list[Task]:
    """The tasks that ended other than COMPLETED: failed, cancelled (a dependency that failed), timed out."""
    items = [t for ts in found.values() for t in ts] if isinstance(found, Mapping) else list(found)
    return [t for t in items if t.failed]


def describe(task: Task) -> str:
    """One line: which job or task, its state and exit, why, and where its log is."""
    what = f"job {task.array_job_id}, task {task.array_task}" if task.array_task else f"job {task.job_id}"
    status, _, signal = task.exit_code.partition(":")
    parts = [f"{what} ({task.name or '?'}): {task.state}"]
    if task.exit_code not in ("0:0", ""):
        parts.append(f"exit {status}" + (f" (signal {signal})" if signal not in ("0", "") else ""))
    if task.reason not in ("None", "NonZeroExitCode", ""):
        parts.append(task.reason)
    if task.restarts:
        parts.append(f"requeued {task.restarts}x")
    return ", ".join(parts) + (f"; log {task.log}" if task.log else "")


def cancel(job_ids: Iterable[str], env: Mapping[str, str] | None = None) -> None:
    """Cancel jobs (whole arrays by their id); those already ended are ignored."""
    ids = [str(j) for j in job_ids]
    if ids:
        _run("scancel", *ids, env=env, check=False)

