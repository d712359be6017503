"""Step 1 through an OpenAI-compatible server (--server_url): a real vLLM server on the tiny model (the session's
``tiny_server``), the same chunk files as the local engine writes, a server down at start refused in one line, a
server killed mid-run (kill -9 of a proxy process in front of it) stopping the run in one line with every
finished chunk whole, and a rerun finishing. The server wants an API key, read from $CFT_TEST_API_KEY
(``--api_key_env``): it must appear in no output, log, summary or chunk file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import orjson
import pytest
from conftest import ROOT, SERVER_KEY, SERVER_KEY_ENV, chunk_path, gen_cmd, run_cmd
from servers import FaultProxy, free_port, proxy_process

from cft.inference import request_seed
from cft.records.solutions import RUN_KEYS

MODEL = "qwen-2.5-math-7b"


def server_cmd(tiny_model, gen_input, out, url, *extra):
    return gen_cmd(tiny_model, gen_input, out, "--server_url", url, "--api_key_env", SERVER_KEY_ENV, *extra)


def no_key_anywhere(*texts: str, folders=()) -> None:
    for text in texts:
        assert SERVER_KEY not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert SERVER_KEY.encode() not in path.read_bytes(), f"the API key is in {path}"


def error_lines(r) -> list[str]:
    assert r.returncode == 1 and "Traceback" not in r.stderr, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return [line for line in r.stderr.splitlines() if line.strip() and not line.startswith(("problems of", "\r"))]


class RecordingProxy(FaultProxy):
    """A FaultProxy (no faults) that keeps the JSON body of every POST."""

    def __init__(self, upstream: str):
        super().__init__(upstream)
        self.bodies: list[dict] = []

    async def _handle(self, request):
        if request.method == "POST":
            self.bodies.append(orjson.loads(await request.read()))
        return await super()._handle(request)


@pytest.fixture(scope="module")
def served(tiny_server, tiny_model, gen_input, tmp_path_factory):
    """The whole run through the server (behind a recording proxy), with --summary_json."""
    d = tmp_path_factory.mktemp("gen_server")
    out = d / "solutions_qwen25"
    with RecordingProxy(tiny_server) as proxy:
        r = run_cmd(server_cmd(tiny_model, gen_input, out, proxy.url, "--max_in_flight", "3",
                               "--summary_json", str(d / "summary.json")))
    return {"dir": d, "out": out, "run": r, "bodies": proxy.bodies, "url": proxy.url}


def test_server_run_writes_the_chunk_contract(served, gen_input, tiny_model):
    r, out = served["run"], served["out"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"backend: server {served['url']} (model {tiny_model}); up to 3 requests in flight" in r.stdout
    assert "vLLM's own output" not in r.stdout  # no engine in this process
    rows = orjson.loads(gen_input.read_bytes())
    for cid in range(6):
        data = orjson.loads(chunk_path(out, cid).read_bytes())
        meta = data["metadata"]
        assert meta["backend"] == {"backend": "server", "model": str(tiny_model), "urls": [served["url"]],
                                   "per_request_seeds": True, "vllm": True}
        assert meta["model_path"] == str(tiny_model) and meta["sampling"]["seed"] == 0
        assert meta["output_tokens"] == sum(s["num_tokens"] for row in data["results"] for s in row["solutions"])
        for k, row in enumerate(data["results"]):
            i = 2 * cid + k
            assert (row["index"], row["chunk_index"], row["question"]) == (i, k, rows[i]["problem"])
            assert row["seed"] == request_seed(0, i)
            assert len(row["solutions"]) == 4
            for s in row["solutions"]:
                assert set(s) == {"text", "extracted_answer", "correct", "grade", "finish_reason", "num_tokens"}
                assert s["finish_reason"] in ("stop", "length") and 0 < s["num_tokens"] <= 48
    summary = orjson.loads((served["dir"] / "summary.json").read_bytes())
    assert summary["chunks_written"] == list(range(6)) and summary["samples"] == 48
    assert "--api_key_env CFT_TEST_API_KEY" in summary["command"]
    no_key_anywhere(r.stdout, r.stderr, folders=[served["dir"]])


def test_the_server_gets_the_prompt_the_local_engine_would(served, gen_input, tiny_model):
    """Rendered here with --model_path's tokenizer and the model's template, sent as a plain completion with a
    per-problem seed; one request per problem, n samples each."""
    from transformers import AutoTokenizer

    from cft.records.prompts import chat_messages

    tok = AutoTokenizer.from_pretrained(tiny_model)
    rows = orjson.loads(gen_input.read_bytes())
    bodies = {b["seed"]: b for b in served["bodies"]}
    assert len(served["bodies"]) == len(bodies) == 12
    for i, row in enumerate(rows):
        body = bodies[request_seed(0, i)]
        assert body["prompt"] == tok.apply_chat_template(chat_messages("qwen25-math-cot", row["problem"]),
                                                         tokenize=False, add_generation_prompt=True)
        assert (body["n"], body["max_tokens"], body["temperature"], body["top_p"]) == (4, 48, 0.7, 0.95)
        assert body["model"] == str(tiny_model) and body["stop"] == ["<|im_end|>", "<|endoftext|>"]


def test_local_and_server_chunks_are_one_run(killed_then_resumed, tiny_server, tiny_model, gen_input, tmp_path):
    """Chunks 3-5 made by the local engine, 0-2 by the server: one folder, one run, merged as one."""
    local = killed_then_resumed["out"]
    out = tmp_path / "solutions_qwen25"
    out.mkdir()
    for cid in (3, 4, 5):
        shutil.copy(chunk_path(local, cid), out)
    r = run_cmd(server_cmd(tiny_model, gen_input, out, tiny_server, "--max_tokens", "200"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "to run: [0, 1, 2], already done (skipped): [3, 4, 5]" in r.stdout
    metas = [orjson.loads(chunk_path(out, cid).read_bytes())["metadata"] for cid in range(6)]
    assert [m["backend"]["backend"] for m in metas] == ["server"] * 3 + ["local"] * 3
    for m in metas:
        assert {k: m.get(k) for k in RUN_KEYS} == {k: metas[0].get(k) for k in RUN_KEYS}
    merged = tmp_path / "merged"
    m = run_cmd([sys.executable, str(ROOT / "merge_solutions.py"), "--chunk_dir", f"qwen25={out}", "--models",
                 "qwen25", "--output_dir", str(merged), "--input_file", str(gen_input)])
    assert m.returncode == 0, m.stderr[-2000:]
    data = orjson.loads((merged / "deepscaler_qwen25_solutions.json").read_bytes())
    assert [row["index"] for row in data["results"]] == list(range(12)) and "backend" not in data["metadata"]
    no_key_anywhere(r.stdout, r.stderr, folders=[tmp_path])


def test_a_server_down_at_start_is_refused_before_any_chunk(tiny_model, gen_input, tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    r = run_cmd(server_cmd(tiny_model, gen_input, tmp_path / "out", down))
    lines = error_lines(r)
    assert len(lines) == 1 and lines[0].startswith(f"error: {down}: no server answers"), r.stderr
    assert time.monotonic() - t0 < 120
    assert not [p for p in (tmp_path / "out").rglob("*")]  # no chunk taken: no lock, no file
    r = run_cmd(server_cmd(tiny_model, gen_input, tmp_path / "out", down, "--dry_run"))
    assert error_lines(r)[0].startswith(f"error: {down}: no server answers")  # a dry run checks the server too


def test_a_dry_run_checks_the_server(tiny_server, tiny_model, gen_input, tmp_path):
    r = run_cmd(server_cmd(tiny_model, gen_input, tmp_path / "out", tiny_server, "--dry_run"))
    assert r.returncode == 0, r.stderr
    assert f"backend: server {tiny_server} (model {tiny_model})" in r.stdout
    assert not (tmp_path / "out").exists()
    r = run_cmd(gen_cmd(tiny_model, gen_input, tmp_path / "out", "--server_url", tiny_server, "--dry_run"))
    lines = error_lines(r)  # no key: the server refuses it, in one line
    assert len(lines) == 1 and "refused the API key (HTTP 401" in lines[0], r.stderr
    no_key_anywhere(r.stdout, r.stderr)


@pytest.fixture(scope="module")
def killed_server(tiny_server, tiny_model, gen_input, tmp_path_factory):
    """Generation through a proxy process in front of the shared server; the proxy is killed (-9) once the
    first chunk is written, with chunks in flight; then a rerun against the server itself."""
    d = tmp_path_factory.mktemp("gen_server_killed")
    out = d / "solutions_qwen25"
    log = d / "run.log"
    with proxy_process(tiny_server, delay_s=0.3) as (url, proxy):
        cmd = server_cmd(tiny_model, gen_input, out, url, "--server_timeout_s", "3", "--summary_json",
                         str(d / "summary.json"), "--max_in_flight", "2")  # a chunk at a time: chunks left to do
        with log.open("w") as f:
            proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not chunk_path(out, 0).exists():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no chunk written in time"
            time.sleep(0.02)
        os.kill(proxy.pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, stderr = proc.communicate(timeout=120)
        stopped_s = time.monotonic() - t0
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    rerun = run_cmd(server_cmd(tiny_model, gen_input, out, tiny_server))
    return {"dir": d, "out": out, "rc": proc.returncode, "stdout": log.read_text(), "stderr": stderr,
            "stopped_s": stopped_s, "after": after, "rerun": rerun, "url": url}


def test_a_server_killed_mid_run_stops_in_one_line(killed_server):
    k = killed_server
    assert k["rc"] == 1, k["stderr"][-3000:]
    assert "Traceback" not in k["stderr"]
    errors = [line for line in k["stderr"].splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and k["stderr"].rstrip().endswith(errors[0]), k["stderr"][-3000:]
    line = errors[0]
    whole = sorted(n for n in k["after"] if n.endswith(".json") and not n.startswith("."))
    assert line.startswith(f"error: {k['url']}: gave up on request "), line
    assert f"in flight, left absent: {len(whole)} of 6 chunks are whole in {k['out']}" in line, line
    assert "rerun the same command to resume" in line and "stopped with chunk " in line
    assert 1 <= len(whole) < 6
    for name in whole:
        orjson.loads(k["after"][name])
    in_flight = [int(part[6:9]) for part in line.split("stopped with ")[1].split(" in flight")[0].split(", ")]
    assert not set(in_flight) & {int(n[-8:-5]) for n in whole}
    assert not [n for n in k["after"] if n.startswith(".")], "a lock or temporary file was left"
    assert 3 <= k["stopped_s"] < 60  # retried for --server_timeout_s, then stopped


def test_the_rerun_after_a_killed_server_finishes(killed_server):
    k = killed_server
    r = k["rerun"]
    assert r.returncode == 0, r.stderr[-3000:]
    for name, data in k["after"].items():  # the whole chunks are skipped, not rewritten
        if name.endswith(".json"):
            assert (k["out"] / name).read_bytes() == data
            assert f"chunk {int(name[-8:-5]):03d}: skipped" in r.stdout
    for cid in range(6):
        rows = orjson.loads(chunk_path(k["out"], cid).read_bytes())["results"]
        assert [row["index"] for row in rows] == [2 * cid, 2 * cid + 1]
    no_key_anywhere(k["stdout"], k["stderr"], r.stdout, r.stderr, folders=[k["dir"]])


def test_a_slurm_node_task_serves_and_generates(tiny_model, gen_input, tmp_path):
    """generate_commands.py --format slurm --serve: task 1 of 2 nodes starts its own vLLM server (on CPU here),
    generates its chunks (1, 3, 5) through it, stops it; the same task again finds nothing to do and starts none."""
    port = free_port()
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(gen_input), "--chunk_size",
                 "2", "--num_samples", "4", "--models", "qwen25", "--output_dir", str(tmp_path), "--format", "slurm",
                 "--serve", "--nodes", "2", "--num_gpus", "1", "--server_port", str(port), "--server_args",
                 "--enforce-eager --max-model-len 512", "--slurm_dir", str(tmp_path), "--log_dir",
                 str(tmp_path / "logs"), "--model_path", f"qwen25={tiny_model}", "--extra",
                 "--max_tokens 48 --max_model_len 512 --grading_workers 1"])
    assert r.returncode == 0, r.stderr
    script = tmp_path / "generate_qwen25.sbatch"
    text = script.read_text()
    assert "#SBATCH --array=0-1%8" in text and "#SBATCH --gres=gpu:1" in text and "#SBATCH --exclusive" in text
    assert '--worker_id "${SLURM_ARRAY_TASK_ID}" --num_workers 2' in text and "serve_and_generate.sh" in text
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "1"}
    task = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=900)
    assert task.returncode == 0, task.stdout[-3000:] + task.stderr[-3000:]
    out = tmp_path / "solutions_qwen25"
    assert sorted(p.name for p in out.glob("*.json")) == [f"{MODEL}_chunk_{c:03d}.json" for c in (1, 3, 5)]
    meta = orjson.loads(chunk_path(out, 3).read_bytes())["metadata"]
    assert meta["backend"]["urls"] == [f"http://127.0.0.1:{port}"] and meta["backend"]["model"] == str(tiny_model)
    assert "all 1 servers answer; generating" in task.stdout and "servers stopped" in task.stdout
    server_pid = int(task.stdout.split(", pid ")[1].split(",")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)  # the server is gone with the task
    again = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "nothing left to run; no server started" in again.stdout, again.stderr
