"""Step 1 on a real Slurm (tests/slurm_cluster.py: one node, slurmctld and slurmd of its own), with the tiny
model on CPU: the scripts of ``generate_commands.py --format slurm`` submitted with sbatch, as a user would.

- the scripts' ``#SBATCH`` lines parse and schedule at their default sizes (``sbatch --test-only``);
- a job array completes every chunk, each file whole, with one task requeued mid-run (``scontrol requeue``)
  that runs again, resumes its chunk and keeps both attempts' logs;
- a ``--serve`` node task starts its server, generates through it and stops it; ``scancel --batch
  --signal=TERM`` on it finishes the chunk in flight that fits the grace or leaves it absent, as its log line
  says, and a resubmission finishes the rest;
- a plain ``scancel --signal=TERM`` does not reach a task (no job step), ``scancel --batch`` does;
- ``cft.slurm.submit`` chains jobs with ``afterok``: a failed array task cancels the job after it, and is
  named with its log.

The jobs share one cluster; submissions are small (2 or 3 chunks, 200 tokens at most, one request in flight so
that a signal lands while a chunk is in flight).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import ROOT, chunk_path, lock_path, run_cmd

from cft.fixtures.vllm_server import free_port
from cft.records.solutions import check_chunk, load_chunk
from cft.slurm import submit

MODEL = "qwen-2.5-math-7b"
# one request in flight: a chunk of 4-6 problems takes seconds, so a signal sent when its lock appears lands
# while it is in flight
GEN_FLAGS = "--max_tokens 200 --max_model_len 512 --enforce_eager --grading_workers 1 --max_in_flight 1"
GRACE_S = 40  # --grace_s: the tasks get --term_grace_s 30
JOB_TIMEOUT_S = 900


def write_script(base: Path, tiny_model, gen_input, chunk_size: int, *flags: str) -> Path:
    """``generate_commands.py --format slurm`` for qwen25 on the tiny model, as docs/generation.md shows it."""
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--format", "slurm", "--models", "qwen25",
                 "--input_file", str(gen_input), "--chunk_size", str(chunk_size), "--num_samples", "2",
                 "--output_dir", str(base / "data"), "--log_dir", str(base / "logs"), "--slurm_dir",
                 str(base / "slurm"), "--cpus_per_task", "1", "--mem", "4G", "--grace_s", str(GRACE_S),
                 "--model_path", f"qwen25={tiny_model}", "--extra", GEN_FLAGS, *flags])
    assert r.returncode == 0, r.stderr
    script = base / "slurm" / "generate_qwen25.sbatch"
    assert r.stdout.strip().endswith(f"-> sbatch {script}")
    return script


def logs_of(found: dict[str, list[submit.Task]]) -> str:
    out = []
    for t in (t for ts in found.values() for t in ts):
        text = Path(t.log).read_text(errors="replace")[-3000:] if t.log and Path(t.log).exists() else "(no log)"
        out.append(f"--- {submit.describe(t)}\n{text}")
    return "\n".join(out)


def wait_until(ready, job: str, env, what: str, timeout: float = JOB_TIMEOUT_S) -> None:
    """Poll ``ready()`` until true; fail with the job's logs if the job ends first or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while not ready():
        tasks = submit.tasks(job, env)
        if all(t.ended for t in tasks) and not ready():
            pytest.fail(f"job {job} ended before {what}:\n{logs_of({job: tasks})}")
        if time.monotonic() > end:
            pytest.fail(f"no {what} after {timeout:.0f} s:\n{logs_of({job: tasks})}")
        time.sleep(0.05)


def whole_chunk_set(folder: Path, chunks: int) -> list[int]:
    """Every chunk file of the run, each whole and holding exactly its rows; every row index, in order."""
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{MODEL}_chunk_{c:03d}.json" for c in range(chunks)], names  # no lock, no temporary file
    reference, _ = load_chunk(chunk_path(folder, 0))
    indices = []
    for cid in range(chunks):
        metadata, rows = load_chunk(chunk_path(folder, cid))
        check_chunk(chunk_path(folder, cid), cid, metadata, rows, reference)
        assert all(len(row["solutions"]) == 2 for row in rows)
        indices += [row["index"] for row in rows]
    return indices


def attempts(log: str) -> list[str]:
    """A task's log, split at the line its script prints at the start of each attempt."""
    return re.split(r"^=== .*, attempt \d+, .*$", log, flags=re.M)[1:]


def test_scripts_schedule_at_their_default_sizes(slurm_cluster, gen_input, tmp_path):
    """The #SBATCH lines of both kinds of script, at their defaults (8 CPUs and 64G a chunk task, a whole node of
    8 GPUs a --serve task), parse and fit a GPU node: sbatch --test-only says when they would start."""
    for kind, flags in (("chunk", []), ("node", ["--serve", "--nodes", "2"])):
        r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--format", "slurm", "--models", "qwen25",
                     "--input_file", str(gen_input), "--chunk_size", "4", "--output_dir", str(tmp_path / kind),
                     "--log_dir", str(tmp_path / kind / "logs"), "--slurm_dir", str(tmp_path / kind), *flags])
        assert r.returncode == 0, r.stderr
        test = subprocess.run(["sbatch", "--test-only", str(tmp_path / kind / "generate_qwen25.sbatch")],
                              env=slurm_cluster.env, capture_output=True, text=True, check=False)
        assert test.returncode == 0 and "to start at" in test.stderr, f"{kind}: {test.stderr}"
    # what the real scheduler refuses, bash -n does not: a task bigger than any node
    big = (tmp_path / "chunk" / "generate_qwen25.sbatch").read_text().replace("--gres=gpu:1", "--gres=gpu:9")
    (tmp_path / "big.sbatch").write_text(big)
    with pytest.raises(submit.SlurmError, match=r"^sbatch .*big\.sbatch: .*(configuration is not available|"
                                                r"Invalid generic resource)"):
        submit.sbatch(tmp_path / "big.sbatch", env=slurm_cluster.env)


@pytest.fixture(scope="module")
def array_run(slurm_cluster, tiny_model, gen_input, tmp_path_factory):
    """The job array of 2 chunks (gen_input's 12 rows in chunks of 6), one task a chunk, both at once; task 1 is
    requeued (``scontrol requeue``) as soon as its chunk's requests go in (its lock), and runs again."""
    env = slurm_cluster.env
    base = tmp_path_factory.mktemp("slurm_array")
    script = write_script(base, tiny_model, gen_input, 6, "--max_concurrent", "2")
    job = submit.sbatch(script, env=env)
    out = base / "data" / "solutions_qwen25"
    wait_until(lambda: lock_path(out, 1).exists() or chunk_path(out, 1).exists(), job, env, "chunk 1's lock")
    requeue = subprocess.run(["scontrol", "requeue", f"{job}_1"], env=env, capture_output=True, text=True,
                             check=False)
    assert requeue.returncode == 0, requeue.stderr
    found = submit.wait([job], poll_s=2, timeout_s=JOB_TIMEOUT_S, env=env)
    return {"base": base, "out": out, "job": job, "script": script, "tasks": found[job], "logs": logs_of(found)}


def test_a_job_array_completes_every_chunk_whole(array_run):
    r = array_run
    assert [(t.job_id, t.state, t.exit_code) for t in r["tasks"]] == \
        [(f"{r['job']}_{k}", "COMPLETED", "0:0") for k in (0, 1)], r["logs"]
    assert whole_chunk_set(r["out"], 2) == list(range(12))  # every index once
    for t in r["tasks"]:  # each task's log where the docs say, with its summary at the end
        log = Path(t.log)
        assert log == r["base"] / "logs" / "slurm" / f"qwen25_chunk_{t.array_task}_{r['job']}.log"
        text = log.read_text()
        assert "\r" not in text  # progress as plain lines, not a bar's redraws
        assert re.search(rf"^problems of {MODEL}: 6/6 \(100%\)", text, re.M), text
        assert re.search(rf"chunks written\s+: \[{t.array_task}\]", attempts(text)[-1]), text
    engine_logs = sorted(p.name for p in (r["base"] / "logs").glob("engine_*.log"))
    job = r["job"]
    assert engine_logs == [f"engine_qwen25_chunk000_job{job}_0_attempt0.log",
                           f"engine_qwen25_chunk001_job{job}_1_attempt0.log",
                           f"engine_qwen25_chunk001_job{job}_1_attempt1.log"]  # one per process, none shared
    named = [line.split(": ", 1)[1].split(" (")[0] for t in r["tasks"] for line in Path(t.log).read_text().splitlines()
             if line.startswith("vLLM's own output: ")]
    assert sorted(named) == [str(r["base"] / "logs" / name) for name in engine_logs]  # not the checkout's cft_data


def test_a_requeued_task_runs_again_resumes_and_keeps_both_logs(array_run):
    """The requeue stops task 1 while its chunk is in flight (Slurm SIGTERMs every process of the task, then
    SIGKILLs what is left after KillWait); the task runs again with the same job id, finds its chunk absent,
    generates it; its log holds both attempts (--open-mode=append)."""
    r = array_run
    task = r["tasks"][1]
    assert task.restarts == 1
    first, second = attempts(Path(task.log).read_text())  # exactly two attempts, in one log
    assert "to run: [1]" in first and "chunks written" not in first  # stopped before its chunk was written
    assert "SIGTERM" in first or "error:" in first, first
    assert "to run: [1]" in second and re.search(r"chunks written\s+: \[1\]", second), second
    assert r["tasks"][0].restarts == 0 and len(attempts(Path(r["tasks"][0].log).read_text())) == 1


def test_a_serve_node_task_on_sigterm_and_resubmitted(slurm_cluster, tiny_model, gen_input, tmp_path):
    """generate_commands.py --format slurm --serve: one node task starts its vLLM server, generates through it
    (12 rows in 3 chunks of 4); ``scancel --batch --signal=TERM`` once chunk 1 is in flight reaches the generation
    through serve_and_generate.sh, which finishes the chunk in flight if its estimate fits the 30 s grace, else
    leaves it absent, exactly as its SIGTERM line says; the task exits 143 with its server stopped. Resubmitting
    the same script does the chunks left, through a new server, stopped at the end."""
    env = slurm_cluster.env
    script = write_script(tmp_path, tiny_model, gen_input, 4, "--serve", "--nodes", "1", "--num_gpus", "1",
                          "--server_port", str(free_port()), "--server_args", "--enforce-eager --max-model-len 512")
    out = tmp_path / "data" / "solutions_qwen25"
    job = submit.sbatch(script, env=env)
    # chunk 1's requests go in once chunk 0's are all back (one in flight): from then chunk 1 is in flight, with
    # chunk 0's time to estimate its end from (chunk 0's file may come later: it waits for its grades)
    wait_until(lambda: lock_path(out, 1).exists() or chunk_path(out, 1).exists(), job, env, "chunk 1's lock")
    term = subprocess.run(["scancel", "--batch", "--signal=TERM", f"{job}_0"], env=env, capture_output=True,
                          text=True, check=False)
    assert term.returncode == 0, term.stderr
    found = submit.wait([job], poll_s=2, timeout_s=JOB_TIMEOUT_S, env=env)
    (task,) = found[job]
    log = Path(task.log).read_text()
    assert (task.state, task.exit_code) == ("FAILED", "143:0"), logs_of(found)
    assert task.log == str(tmp_path / "logs" / "slurm" / f"qwen25_node_0_{job}.log")
    line = next(ln for ln in log.splitlines() if ln.startswith("SIGTERM"))
    kept = [int(c) for c in re.findall(r"chunk (\d+)", line.split(", then stopping")[0])] \
        if line.startswith("SIGTERM: finishing") else []
    absent = [int(c) for c in re.findall(r"chunk (\d+)", line.split("left absent")[0].split("then stopping")[-1])] \
        if "left absent" in line else []
    written = [int(c) for c in re.findall(r"^chunk (\d+): \d+ problems", log, re.M)]
    assert 0 in written and set(kept) <= set(written) and not set(absent) & set(written), log
    assert sorted(int(p.name[-8:-5]) for p in out.glob("*.json")) == sorted(written)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a lock or temporary file was left"
    assert len(written) < 3, f"every chunk was done before the signal: {line}"
    assert "servers stopped" in log
    first_server = int(log.split(", pid ")[1].split(",")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(first_server, 0)
    servers = tmp_path / "logs" / "servers"
    assert [p.name for p in servers.iterdir()] == [next(p.name for p in servers.iterdir())]
    assert re.fullmatch(rf"server_.+_\d+_job{job}_0_attempt0\.log", next(servers.iterdir()).name)

    again = submit.sbatch(script, env=env)
    found = submit.wait([again], poll_s=2, timeout_s=JOB_TIMEOUT_S, env=env)
    (task,) = found[again]
    assert (task.state, task.exit_code) == ("COMPLETED", "0:0"), logs_of(found)
    log = Path(task.log).read_text()
    left = [c for c in range(3) if c not in written]
    assert f"to run: {left}, already done (skipped): {sorted(written)}" in log, log
    assert "all 1 servers answer; generating" in log and "servers stopped" in log
    with pytest.raises(ProcessLookupError):
        os.kill(int(log.split(", pid ")[1].split(",")[0]), 0)
    assert whole_chunk_set(out, 3) == list(range(12))
    for cid in range(3):
        assert orjson.loads(chunk_path(out, cid).read_bytes())["metadata"]["backend"]["urls"][0].startswith(
            "http://127.0.0.1:")


def test_scancel_signal_reaches_a_task_only_with_batch(slurm_cluster, tmp_path):
    """Our tasks run no job step (no srun): a plain ``scancel --signal=TERM`` signals the job's steps and so
    reaches nothing; ``scancel --batch --signal=TERM`` reaches the batch script (what ``#SBATCH
    --signal=B:TERM@<grace_s>`` does before the time limit), as docs/generation.md says."""
    env = slurm_cluster.env
    script = tmp_path / "trap.sbatch"
    script.write_text("\n".join([
        "#!/usr/bin/env bash", f"#SBATCH --output={tmp_path}/trap_%j.log", "#SBATCH --mem=100M",
        "trap 'echo got TERM; exit 143' TERM", "echo started",
        "for i in $(seq 1200); do sleep 0.1; done",  # (bash runs a trap between commands)
        ""]))
    job = submit.sbatch(script, env=env)
    log = tmp_path / f"trap_{job}.log"
    wait_until(lambda: log.exists() and "started" in log.read_text(), job, env, "the job's start", timeout=120)
    for flags in (["--signal=TERM"], ["--batch", "--signal=TERM"]):
        r = subprocess.run(["scancel", *flags, job], env=env, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        if flags == ["--signal=TERM"]:
            time.sleep(3)
            (task,) = submit.tasks(job, env)
            assert task.state == "RUNNING" and "got TERM" not in log.read_text()
    (task,) = submit.wait([job], poll_s=0.5, timeout_s=60, env=env)[job]
    assert (task.state, task.exit_code) == ("FAILED", "143:0") and "got TERM" in log.read_text()


def test_dependent_jobs_stop_after_a_failed_task(slurm_cluster, tmp_path):
    """cft.slurm.submit: B after_ok A runs after A; an array whose task 1 fails cancels the job that depends on
    it (DependencyNeverSatisfied, never started), and ``failures`` names that task and its log."""
    env = slurm_cluster.env

    def script(name: str, body: str, array: str | None = None) -> Path:
        path = tmp_path / f"{name}.sbatch"
        output = f"{tmp_path}/{name}_%a_%A.log" if array else f"{tmp_path}/{name}_%j.log"
        path.write_text("\n".join(["#!/usr/bin/env bash", f"#SBATCH --output={output}", "#SBATCH --mem=100M",
                                   *([f"#SBATCH --array={array}"] if array else []), f"cd {tmp_path}", body, ""]))
        return path

    first = submit.sbatch(script("first", "sleep 2; echo one > first.txt"), env=env)
    then = submit.sbatch(script("then", "cat first.txt > then.txt"), after_ok=[first], env=env)
    array = submit.sbatch(script("arr", 'echo "task $SLURM_ARRAY_TASK_ID"; exit $((3 * SLURM_ARRAY_TASK_ID))',
                                 array="0-1"), env=env)
    after = submit.sbatch(script("after", "touch after.txt"), after_ok=[array], name="after-arr", env=env)
    found = submit.wait([first, then, array, after], poll_s=1, timeout_s=300, env=env)
    assert (tmp_path / "then.txt").read_text() == "one\n"  # B ran after A, and saw its file
    failed = submit.failures(found)
    assert [(t.job_id, t.state) for t in failed] == [(f"{array}_1", "FAILED"), (after, "CANCELLED")], logs_of(found)
    task, cancelled = failed
    assert task.exit_code == "3:0" and task.log == f"{tmp_path}/arr_1_{array}.log"
    assert Path(task.log).read_text() == "task 1\n"
    assert submit.describe(task) == f"job {array}, task 1 (arr.sbatch): FAILED, exit 3; log {task.log}"
    assert cancelled.reason == "DependencyNeverSatisfied" and cancelled.name == "after-arr"
    assert not (tmp_path / "after.txt").exists() and not Path(cancelled.log).exists()  # it never started
    assert submit.describe(cancelled).startswith(f"job {after} (after-arr): CANCELLED, DependencyNeverSatisfied")
    assert [t.state for t in found[first] + found[then]] == ["COMPLETED", "COMPLETED"]


SHOW_JOB = (  # scontrol show job -o of an array (Slurm 22.05): task 1 ended, tasks 2-3 pending together
    "JobId=10 ArrayJobId=9 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=cft-qwen25 UserId=root(0) JobState=FAILED "
    "Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=1:0 "
    "Command=/data/my runs/generate_qwen25.sbatch WorkDir=/data/my runs StdErr=/data/my runs/logs/q_1_9.log "
    "StdIn=/dev/null StdOut=/data/my runs/logs/q_1_9.log Power= TresPerNode=gres:gpu:1\n"
    "JobId=9 ArrayJobId=9 ArrayTaskId=2-3%2 JobName=cft-qwen25 JobState=PENDING Reason=JobArrayTaskLimit "
    "Restarts=0 ExitCode=0:0 StdOut=/data/my runs/logs/q_%a_9.log\n")


def test_scontrol_show_job_lines_parse():
    """Values with spaces (a folder name) stay whole; an array task is named <array>_<task>."""
    failed, pending = submit.parse_show_job(SHOW_JOB)
    assert (failed.job_id, failed.state, failed.exit_code, failed.restarts) == ("9_1", "FAILED", "1:0", 1)
    assert failed.log == "/data/my runs/logs/q_1_9.log" and failed.failed
    assert submit.describe(failed) == "job 9, task 1 (cft-qwen25): FAILED, exit 1, requeued 1x; log " \
                                      "/data/my runs/logs/q_1_9.log"
    assert (pending.job_id, pending.array_task, pending.reason, pending.ended) == ("9", "2-3%2", "JobArrayTaskLimit",
                                                                                  False)
    assert submit.failures([failed, pending]) == [failed]
