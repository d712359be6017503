"""run_qwen25_parallel.sh with the tiny model on CPU: 2 workers, logs per GPU, the table, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import orjson
from conftest import ROOT, arithmetic_rows

SCRIPT = str(ROOT / "run_qwen25_parallel.sh")


def worker_flags(tiny_model, inp, out):
    return ["--", "--model_path", str(tiny_model), "--input_file", str(inp), "--output_dir", str(out),
            "--chunk_size", "2", "--num_samples", "2", "--max_tokens", "16", "--max_model_len", "256",
            "--enforce_eager", "--grading_workers", "1"]


def test_two_workers_finish_every_chunk(tiny_model, tmp_path):
    inp = tmp_path / "in.json"
    inp.write_bytes(orjson.dumps(arithmetic_rows(8)))
    out, logs = tmp_path / "solutions_qwen25", tmp_path / "logs"
    cmd = [SCRIPT, "--gpus", "2", "--log_dir", str(logs), "--python", sys.executable,
           *worker_flags(tiny_model, inp, out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in out.glob("*.json")) == [f"qwen-2.5-math-7b_chunk_{i:03d}.json" for i in range(4)]
    table = r.stdout.split("GPU   done")[1].splitlines()
    assert table[1].split()[:4] == ["0", "2", "0", "0"] and table[2].split()[:4] == ["1", "2", "0", "0"]
    log0 = (logs / "qwen25_gpu0.log").read_text()
    assert "to run: [0, 2]" in log0 and "chunk 000:" in log0 and "chunk 002:" in log0
    assert "to run: [1, 3]" in (logs / "qwen25_gpu1.log").read_text()
    # a rerun finds every chunk done and starts no engine
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0 and "to run: []" in (logs / "qwen25_gpu1.log").read_text()


def test_bad_flags_start_no_worker(tmp_path):
    r = subprocess.run([SCRIPT, "--gpus", "2", "--log_dir", str(tmp_path / "logs"), "--python", sys.executable, "--",
                        "--input_file", str(tmp_path / "missing.json")], capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "file not found" in r.stderr and "no worker started" in r.stderr
    assert not (tmp_path / "logs").exists()


def test_ctrl_c_stops_every_worker(tiny_model, tmp_path):
    inp = tmp_path / "in.json"
    inp.write_bytes(orjson.dumps(arithmetic_rows(8)))
    proc = subprocess.Popen([SCRIPT, "--gpus", "2", "--log_dir", str(tmp_path / "logs"), "--python", sys.executable,
                             *worker_flags(tiny_model, inp, tmp_path / "out")],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    pids = []
    for line in proc.stdout:
        if ": worker pid " in line:
            pids.append(int(line.split("worker pid ")[1].split()[0]))
        if len(pids) == 2:
            break
    time.sleep(3)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(p) for p in pids)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purposes
        return f.read().split(")")[1].split()[0] != "Z"
