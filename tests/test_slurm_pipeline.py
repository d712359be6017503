"""``run_full_pipeline.sh --slurm`` on a real Slurm (tests/slurm_cluster.py), with the tiny model on CPU: every step
a job chained with ``afterok``, from the problem set to a dataset folder that ``datasets`` loads, with no command
typed after the submission; a resubmission runs an array only for the chunk missing; a failed array task stops
the jobs after it, and ``python -m cft.pipeline slurm-status`` names it and its log.

One model (the tiny model as qwen25), 6 problems in 2 chunks of 3, 2 samples of 40 tokens: one engine start per
chunk task."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
from conftest import ROOT, SERVER_KEY, SERVER_KEY_ENV
from helpers import EVAL_PROBLEMS

from cft.slurm import submit

PROBLEMS = [{"problem": f"What is {a} + {b}?", "answer": str(a + b), "source": "test"}
            for a, b in [(0, 1), (1, 1), (2, 1), (1, 3), (0, 0), (2, 2)]]
MODEL = "qwen-2.5-math-7b"
GEN_FLAGS = ["--prompt_template", "fewshot-boxed", "--max_tokens", "40", "--max_model_len", "512", "--enforce_eager",
             "--grading_workers", "1", "--dtype", "float32"]
JOB_TIMEOUT_S = 900


def pipeline(data: Path, tiny_model, env, *flags: str) -> subprocess.CompletedProcess:
    """run_full_pipeline.sh --slurm on one model (the tiny model as qwen25), the jobs' sizes fit for the test node."""
    cmd = [str(ROOT / "run_full_pipeline.sh"), "--slurm", "--data_dir", str(data), "--models", "qwen25",
           "--qwen25_path", str(tiny_model), "--chunk_size", "3", "--num_samples", "2", "--cpus_per_task", "1",
           "--mem", "4G", "--time", "30:00", "--partition", "debug", "--max_concurrent", "2", *flags,
           "--", *GEN_FLAGS]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return r


def job_ids(printed: str) -> dict[str, str]:
    """The steps and job ids the submission printed."""
    return dict(re.findall(r"^  (\w+) +job (\d+)", printed, re.M))


def wait_all(data: Path, env) -> tuple[dict[str, list[submit.Task]], subprocess.CompletedProcess]:
    """Every job of the submission's record ended; ``slurm-status``'s answer then."""
    jobs = orjson.loads((data / "logs" / "slurm" / "jobs.json").read_bytes())["jobs"]
    found = submit.wait([j["job"] for j in jobs], poll_s=2, timeout_s=JOB_TIMEOUT_S, env=env)
    status = subprocess.run([sys.executable, "-m", "cft.pipeline", "slurm-status", str(data)], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=False)
    return found, status


def logs_of(found: dict[str, list[submit.Task]]) -> str:
    return "\n".join(f"--- {submit.describe(t)}\n" + (Path(t.log).read_text(errors="replace")[-2000:]
                                                      if t.log and Path(t.log).exists() else "(no log)")
                     for ts in found.values() for t in ts)


def test_a_failed_array_task_stops_the_jobs_after_it(slurm_cluster, tiny_model, tmp_path):
    """A flag generate_solutions.py does not know, for qwen25's array only (--model_args): its tasks fail at once;
    merge and every step after it are cancelled by Slurm, never started; slurm-status names the failed tasks and
    their logs, and the steps not run."""
    env = slurm_cluster.env
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(PROBLEMS))
    r = pipeline(data, tiny_model, env, "--no_decontaminate", "--model_args", "qwen25=--no_such_flag")
    ids = job_ids(r.stdout)
    assert list(ids) == ["generate_qwen25", "merge", "filter", "critique", "format", "dataset"], r.stdout
    assert "(array: chunks 0-1)" in r.stdout and f"slurm-status {data}" in r.stdout
    found, status = wait_all(data, env)
    array = ids["generate_qwen25"]
    assert [(t.job_id, t.state, t.exit_code) for t in found[array]] == \
        [(f"{array}_0", "FAILED", "2:0"), (f"{array}_1", "FAILED", "2:0")], logs_of(found)
    for step in ("merge", "filter", "critique", "format", "dataset"):
        (task,) = found[ids[step]]
        assert (task.state, task.reason) == ("CANCELLED", "DependencyNeverSatisfied"), logs_of(found)
        assert not list((data / "logs" / "slurm").glob(f"{step}_*.log"))  # never started
    assert status.returncode == 1, status.stdout + status.stderr
    for k in (0, 1):
        log = data / "logs" / "slurm" / f"qwen25_chunk_{k}_{array}.log"
        assert f"failed: job {array}, task {k} (cft-qwen25): FAILED, exit 2; log {log}" in status.stdout, status.stdout
        assert "unrecognized arguments: --no_such_flag" in log.read_text()
    assert "not run (a job before them failed): merge, filter, critique, format, dataset" in status.stdout
    assert not (data / "dataset").exists()


def test_the_pipeline_on_slurm_runs_to_a_dataset_and_resubmits_only_what_is_missing(slurm_cluster, tiny_model,
                                                                                     tiny_server, tmp_path):
    """Step 0, qwen25's array (3 chunk tasks, after step 0), merge, filter, critique, format, step 6 (the teacher
    behind the test's server), the report card (the same server) and the dataset folder, each after the one before:
    the folder loads with datasets, the closing summary joins the steps', the scripts and logs are in logs/slurm/.
    The array's task for the chunk that step 0's removal left out does nothing. Chunk 1's file removed, the same
    command submits an array of chunks 1-2 alone; step 6 resumes its work, or redoes it where step 5's rows
    changed."""
    import datasets

    env = slurm_cluster.env
    assert env[SERVER_KEY_ENV] == SERVER_KEY  # (the jobs get the submission's environment: the key, by its name)
    data = tmp_path / "data"
    data.mkdir()
    # 7 problems, 3 chunks of 3; step 0 removes the one of the evaluation set, leaving 2 chunks: the array, submitted
    # before step 0 ran, has a task for chunk 2 too, which ends at once
    contaminated = {"problem": EVAL_PROBLEMS[3][0], "answer": EVAL_PROBLEMS[3][1], "source": "test"}
    (data / "deepscaler_train.json").write_bytes(orjson.dumps([*PROBLEMS[:4], contaminated, *PROBLEMS[4:]]))
    evals = tmp_path / "eval.jsonl"  # step 0 offline: an evaluation set of the test's own
    evals.write_bytes(b"".join(orjson.dumps({"problem": p, "answer": a}) + b"\n" for p, a in EVAL_PROBLEMS))
    flags = ["--decontaminate_args", f"--eval_sets none --against {evals}", "--teacher_server_url", tiny_server,
             "--teacher_api_key_env", SERVER_KEY_ENV, "--teacher_args", "--num_critiques 2 --max_tokens 16",
             "--eval_server_url", tiny_server, "--eval_api_key_env", SERVER_KEY_ENV, "--eval_args", "--max_tokens 16"]
    r = pipeline(data, tiny_model, env, *flags)
    ids = job_ids(r.stdout)
    assert list(ids) == ["decontaminate", "generate_qwen25", "merge", "filter", "critique", "format", "sft",
                         "evaluate", "dataset"]
    assert f"(array: chunks 0-2) (after {ids['decontaminate']})" in r.stdout
    # the same command again while they run: refused, naming them (two runs would write the same files)
    again = subprocess.run([str(ROOT / "run_full_pipeline.sh"), "--slurm", "--data_dir", str(data), "--models",
                            "qwen25"], env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert again.returncode == 1 and f"of the last submission in {data} are still queued or running" in again.stderr \
        and f" {ids['dataset']})" in again.stderr.strip(), again.stderr
    found, status = wait_all(data, env)
    assert not submit.failures(found), logs_of(found)
    assert status.returncode == 0 and f"done: the dataset folder {data / 'dataset'}" in status.stdout, status.stdout

    slurm = data / "logs" / "slurm"
    for step in ("decontaminate", "merge", "filter", "critique", "format", "sft", "evaluate", "dataset"):
        script = (slurm / f"{step}.sbatch").read_text()
        assert "#SBATCH --partition=debug" in script and "#SBATCH --mem=4G" in script
        (task,) = found[ids[step]]
        assert task.log == str(slurm / f"{step}_{ids[step]}.log")
    array = ids["generate_qwen25"]
    assert [t.log for t in found[array]] == [str(slurm / f"qwen25_chunk_{k}_{array}.log") for k in (0, 1, 2)]
    assert orjson.loads((data / "deepscaler_train_clean.json").read_bytes()) == PROBLEMS
    assert "past the last chunk" in Path(found[array][2].log).read_text()
    assert sorted(p.name for p in (data / "solutions_qwen25").iterdir()) == \
        [f"{MODEL}_chunk_000.json", f"{MODEL}_chunk_001.json"]
    # generation read step 0's output, as the run here does
    merged = orjson.loads((data / "deepscaler_qwen25_solutions.json").read_bytes())
    assert merged["metadata"]["input_file"] == str(data / "deepscaler_train_clean.json")
    assert [row["index"] for row in merged["results"]] == list(range(6))
    ds = datasets.load_dataset(str(data / "dataset"), "rl", cache_dir=str(tmp_path / "hf_cache"))
    formatted = orjson.loads((data / "deepscaler_critique_formatted.json").read_bytes())
    assert ds["train"].num_rows == len(formatted) > 0
    closing = orjson.loads((data / "pipeline_summary.json").read_bytes())
    assert {"decontaminate", "merge", "filter", "critique", "format", "sft", "dataset"} <= set(closing["steps"])
    assert SERVER_KEY not in "".join(p.read_text(errors="replace") for p in slurm.iterdir())
    # the report card on the validation rows, where step 5 held any out (a few kept problems may leave none)
    if (data / "deepscaler_critique_formatted_val.json").exists():
        assert "evaluate" in closing["steps"] and list((data / "critic_eval").iterdir())
    else:
        assert "no validation rows" in (slurm / f"evaluate_{ids['evaluate']}.log").read_text()
    # step 5's rows were new: step 6 ran with --overwrite, as a run here does
    assert "step 5's rows changed" in (slurm / f"sft_{ids['sft']}.log").read_text()
    sft_rows = (data / "deepscaler_critique_sft.jsonl").read_text()
    assert any(s.startswith("generate_qwen25_chunk") for s in closing["steps"]), list(closing["steps"])

    # resubmitted with chunk 1 missing: an array of that chunk alone; the derived steps again; step 6 resumes its
    # work, or replaces it where step 5's rows changed (chunk 1 sampled again need not give the same solutions)
    step5 = [(data / f"deepscaler_critique_formatted{s}.json") for s in ("", "_val")]
    before = [p.read_bytes() if p.exists() else None for p in step5]
    (data / "solutions_qwen25" / f"{MODEL}_chunk_001.json").unlink()
    r = pipeline(data, tiny_model, env, *flags)
    ids = job_ids(r.stdout)
    assert "1 of 3 chunk files" in r.stdout and "(array: chunks 1-2)" in r.stdout, r.stdout
    found, status = wait_all(data, env)
    assert not submit.failures(found) and status.returncode == 0, logs_of(found)
    assert [t.job_id for t in found[ids["generate_qwen25"]]] == [f"{ids['generate_qwen25']}_{k}" for k in (1, 2)]
    assert (data / "solutions_qwen25" / f"{MODEL}_chunk_001.json").exists()
    assert datasets.load_dataset(str(data / "dataset"), "rl", cache_dir=str(tmp_path / "hf_cache2"))["train"].num_rows
    changed = before != [p.read_bytes() if p.exists() else None for p in step5]
    sft_log = (slurm / f"sft_{ids['sft']}.log").read_text()
    assert ("step 5's rows changed" in sft_log) == changed, sft_log
    if not changed:
        assert (data / "deepscaler_critique_sft.jsonl").read_text() == sft_rows  # resumed: every work chunk done


def test_a_refused_submission_leaves_no_job(slurm_cluster, tiny_model, tmp_path):
    """Tasks bigger than any node (9 GPUs; the node has 8): sbatch accepts step 0's job and refuses the array; the
    submission stops in one line naming the script, having cancelled step 0's job: no job of the run is left."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(PROBLEMS))
    evals = tmp_path / "eval.jsonl"
    evals.write_bytes(b"".join(orjson.dumps({"problem": p, "answer": a}) + b"\n" for p, a in EVAL_PROBLEMS))
    cmd = [str(ROOT / "run_full_pipeline.sh"), "--slurm", "--data_dir", str(data), "--models", "qwen25",
           "--qwen25_path", str(tiny_model), "--chunk_size", "3", "--cpus_per_task", "1", "--mem", "4G",
           "--gpus_per_task", "9", "--decontaminate_args", f"--eval_sets none --against {evals}"]
    r = subprocess.run(cmd, env=slurm_cluster.env, capture_output=True, text=True, timeout=300, check=False,
                       stdin=subprocess.DEVNULL)
    step0 = re.search(r"^  decontaminate +job (\d+)$", r.stdout, re.M)
    assert r.returncode == 1 and step0, r.stdout + r.stderr
    assert re.search(r"pipeline stopped: sbatch .*generate_qwen25\.sbatch: .*; cancelled the jobs submitted before "
                     rf"it \({step0.group(1)}\)$", r.stderr.strip()), r.stderr
    (task,) = submit.wait([step0.group(1)], poll_s=1, timeout_s=120, env=slurm_cluster.env)[step0.group(1)]
    assert task.state == "CANCELLED"
