"""Faults a user meets, in every step: kill -9 at random moments, a full disk, a read-only folder, an
output path that is a folder, a missing input folder; for step 1 also two processes on one chunk,
SIGTERM with a grace period (Slurm preemption), and Ctrl-C / SIGTERM of run_qwen25_parallel.sh.

A full disk is a small tmpfs when the tests run as root (skipped if mounting fails), and is
injected at the write call in-process for steps 2-5 either way. The matrix these tests fill is
docs/faults.md. Tests that start vLLM share their runs through session fixtures.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import (
    ROOT,
    chunk_path,
    gen_cmd,
    generation_signalled_mid_run,
    kill_all,
    run_cmd,
    run_processes,
    wait_gone,
)
from helpers import write_chunks, write_input

from cft.generate.chunk_lock import ChunkLock

PY = sys.executable
KILLS_PER_STEP = int(os.environ.get("CFT_FAULT_KILLS", "3"))


# --- mounts ------------------------------------------------------------------------------

@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    """A tmpfs of ``size`` at ``path`` (root only); skips the test if it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    opts = f"size={size}" + (",ro" if read_only else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only_dir(path: Path):
    """A folder this process cannot write: a read-only tmpfs as root, else mode 555."""
    if os.geteuid() == 0:
        with tmpfs(path, "64k", read_only=True):
            yield path
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


def error_line(r, engine_logs: bool = False) -> str:
    """The script's one error line: its last stderr line, and no traceback. With ``engine_logs``
    (step 1 after vLLM started), vLLM's own log lines may follow it as the engine shuts down."""
    assert r.returncode == 1, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr[-2000:]
    if not engine_logs:
        assert lines[-1] == errors[0], r.stderr[-2000:]
    return errors[0]


def no_partial(folder: Path) -> None:
    assert not [p.name for p in folder.rglob("*.tmp")], "a temporary file was left behind"


ONE_COMMIT = {"format"}  # steps whose outputs are one set (jsonio.atomic_files): all there or none


def absent_or_whole(post, folder: Path, step: str) -> None:
    """Each output of ``step`` in ``folder`` is absent or byte for byte the reference; a step that commits its
    outputs as one set left all of them or none (merge's two models are two sets); no temporary file is left."""
    present = []
    for name in post["files"][step]:
        path = folder / name
        if path.is_file():
            assert path.read_bytes() == post["ref"][name], f"{path} is not whole"
            present.append(name)
    if step in ONE_COMMIT:
        assert present in ([], post["files"][step]), f"{step} left a mix: {present}"
    no_partial(folder)


# --- steps 2-5 on real files -------------------------------------------------------------

N_PROBLEMS = 400


@pytest.fixture(scope="session")
def post(tmp_path_factory):
    """Chunks of both models, and each of steps 2-5 run once: the reference outputs and timings."""
    d = tmp_path_factory.mktemp("faults_post")
    inp = d / "in.json"
    write_input(inp, N_PROBLEMS)
    counts = [(i * 7) % 5 for i in range(N_PROBLEMS)]
    write_chunks(d / "qwen25", "qwen-2.5-math-7b", inp, counts, chunk_size=50)
    write_chunks(d / "qwen3", "qwen3-4b-base", inp, [(c + i) % 5 for i, c in enumerate(counts)], chunk_size=50)
    ref = d / "ref"
    files = {"merge": ["deepscaler_qwen25_solutions.json", "deepscaler_qwen3_solutions.json"],
             "filter": ["filter.json"], "critique": ["critique.json"],
             "format": ["formatted.json", "formatted.parquet", "formatted_val.json", "formatted_val.parquet"]}

    def cmd(step: str, out: Path, src: Path = ref) -> list[str]:
        """``step`` writing into folder ``out``, reading the reference outputs of the steps before it."""
        if step == "merge":
            return [PY, str(ROOT / "merge_solutions.py"), "--qwen25_dir", str(d / "qwen25"), "--qwen3_dir",
                    str(d / "qwen3"), "--output_dir", str(out), "--overwrite"]
        if step == "filter":
            return [PY, str(ROOT / "filter_solutions.py"), "--qwen25_file",
                    str(src / "deepscaler_qwen25_solutions.json"), "--qwen3_file",
                    str(src / "deepscaler_qwen3_solutions.json"), "--original_file", str(inp),
                    "--output_file", str(out / "filter.json"), "--overwrite"]
        if step == "critique":
            return [PY, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(src / "filter.json"),
                    "--output_file", str(out / "critique.json"), "--overwrite"]
        return [PY, str(ROOT / "format_critique_data.py"), "--critique_file", str(src / "critique.json"),
                "--output_file", str(out / "formatted.json"), "--overwrite"]

    seconds = {}
    for step in files:
        t0 = time.monotonic()
        r = run_cmd(cmd(step, ref))
        seconds[step] = time.monotonic() - t0
        assert r.returncode == 0, r.stderr[-3000:]
    return {"dir": d, "cmd": cmd, "files": files, "seconds": seconds,
            "ref": {name: (ref / name).read_bytes() for names in files.values() for name in names}}


STEPS = ["merge", "filter", "critique", "format"]


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_random_moments_then_rerun_is_identical(post, step, tmp_path):
    rng = random.Random(f"{step}-13")
    for k in range(KILLS_PER_STEP):
        out = tmp_path / f"kill{k}"
        out.mkdir()
        proc = subprocess.Popen(post["cmd"](step, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.0) * post["seconds"][step])
        procs = run_processes(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, orphans = wait_gone(procs, timeout=10)
        kill_all(orphans)
        assert not orphans, f"{step}: processes outlived kill -9 by 10 s"
        for name in post["files"][step]:  # each output is absent or whole, never torn
            if (out / name).exists():
                assert (out / name).read_bytes() == post["ref"][name], f"{step}: {name} torn by kill -9"
        if step in ONE_COMMIT:  # (kill -9 between two renames could split a set; they are microseconds apart)
            present = [name for name in post["files"][step] if (out / name).exists()]
            assert present in ([], post["files"][step]), f"{step}: kill -9 left a mix: {present}"
        r = run_cmd(post["cmd"](step, out))
        assert r.returncode == 0, r.stderr[-2000:]
        for name in post["files"][step]:
            assert (out / name).read_bytes() == post["ref"][name], f"{step}: rerun after kill -9 differs"


@pytest.mark.parametrize("step", STEPS)
def test_full_disk_is_one_line(post, step, tmp_path):
    need = sum(len(post["ref"][n]) for n in post["files"][step])
    size = max(16 << 10, (need // 3) // 4096 * 4096)
    with tmpfs(tmp_path / "small", f"{size // 1024}k") as small:
        r = run_cmd(post["cmd"](step, small))
        line = error_line(r)
        assert "No space left on device" in line and str(small) in line, line
        absent_or_whole(post, small, step)


def test_full_disk_leaves_the_previous_set_of_format_outputs(post, tmp_path):
    """Step 5 rewriting its four files on a disk with room for the old set but not the new one: the old set
    stays, whole, beside no new file and no temporary file."""
    critique = orjson.loads((post["dir"] / "ref" / "critique.json").read_bytes())
    small_src = tmp_path / "small_critique.json"
    small_src.write_bytes(orjson.dumps(critique[:40]))
    need = sum(len(post["ref"][n]) for n in post["files"]["format"])
    size = max(64 << 10, (need // 2) // 4096 * 4096)
    with tmpfs(tmp_path / "small", f"{size // 1024}k") as small:
        cmd = post["cmd"]("format", small)
        at = cmd.index("--critique_file") + 1
        old = run_cmd([*cmd[:at], str(small_src), *cmd[at + 1:]])
        assert old.returncode == 0, old.stderr[-2000:]
        before = {name: (small / name).read_bytes() for name in post["files"]["format"]}
        assert sum(map(len, before.values())) < size // 2
        line = error_line(run_cmd(cmd))
        assert "No space left on device" in line and str(small) in line, line
        assert {name: (small / name).read_bytes() for name in post["files"]["format"]} == before
        no_partial(small)


# --- the dataset folder (build_dataset.py): a folder is whole with its manifest, or absent -----------------

def dataset_cmd(post, out: Path) -> list[str]:
    return [PY, str(ROOT / "build_dataset.py"), "--rl_file", str(post["dir"] / "ref" / "formatted.parquet"),
            "--summaries", str(post["dir"] / "no_logs"), "--output_dir", str(out), "--overwrite"]


def verified(folder: Path) -> bool:
    r = run_cmd([PY, str(ROOT / "build_dataset.py"), "--verify", str(folder)])
    return r.returncode == 0


def test_dataset_folder_on_a_full_disk_is_one_line_and_keeps_the_previous_folder(post, tmp_path):
    need = len(post["ref"]["formatted.parquet"]) + len(post["ref"]["formatted_val.parquet"])
    size = max(64 << 10, (need * 3 // 2) // 4096 * 4096)  # room for one folder (copies: another filesystem)
    with tmpfs(tmp_path / "small", f"{size // 1024}k") as small:
        out = small / "dataset"
        r = run_cmd(dataset_cmd(post, out))
        assert r.returncode == 0, r.stderr[-2000:]
        assert "copies (a hard link was refused: Invalid cross-device link)" in r.stdout
        before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        line = error_line(run_cmd(dataset_cmd(post, out)))  # a second folder does not fit beside the first
        assert "No space left on device" in line and str(out) in line, line
        assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
        assert verified(out)
        assert not [p.name for p in small.iterdir() if p.name.startswith(".")], "a staging folder was left"


def test_dataset_folder_killed_at_random_moments_is_absent_or_whole(post, tmp_path):
    rng = random.Random("dataset-13")
    t0 = time.monotonic()
    assert run_cmd(dataset_cmd(post, tmp_path / "timing")).returncode == 0
    seconds = time.monotonic() - t0
    for k in range(KILLS_PER_STEP):
        out = tmp_path / f"kill{k}" / "dataset"
        out.parent.mkdir()
        proc = subprocess.Popen(dataset_cmd(post, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.0) * seconds)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists() or verified(out), "kill -9 left a folder that does not match its manifest"
        assert run_cmd(dataset_cmd(post, out)).returncode == 0 and verified(out)


def test_dataset_folder_in_a_read_only_folder_is_one_line(post, tmp_path):
    with read_only_dir(tmp_path / "ro") as ro:
        line = error_line(run_cmd(dataset_cmd(post, ro / "dataset")))
        assert str(ro / "dataset") in line and ("Read-only file system" in line or "Permission denied" in line), line


@pytest.mark.parametrize("step", ["filter", "critique", "format"])  # (merge writes in worker processes)
def test_full_disk_injected_at_the_write_call(post, step, tmp_path, monkeypatch, capsys):
    """The same, without root: every write of an output raises ENOSPC (in-process)."""
    from cft.common import oserrors

    def full(self, data):
        raise oserrors.named(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), self.final_path)

    monkeypatch.setattr(oserrors.NamedWriter, "write", full)
    argv = post["cmd"](step, tmp_path)[1:]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(argv[0], run_name="__main__")
    assert exit_.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "No space left on device" in lines[-1]
    assert str(tmp_path) in lines[-1]
    assert not [n for n in post["files"][step] if (tmp_path / n).exists()]  # every write failed
    no_partial(tmp_path)


@pytest.mark.parametrize("step", STEPS)
def test_read_only_folder_is_one_line(post, step, tmp_path):
    with read_only_dir(tmp_path / "ro") as ro:
        line = error_line(run_cmd(post["cmd"](step, ro)))
        assert str(ro) in line and ("Read-only file system" in line or "Permission denied" in line), line


@pytest.mark.parametrize("step", STEPS)
def test_output_path_that_is_a_folder_is_one_line(post, step, tmp_path):
    first = post["files"][step][0]
    (tmp_path / first).mkdir()
    line = error_line(run_cmd(post["cmd"](step, tmp_path)))
    assert str(tmp_path / first) in line, line
    assert (tmp_path / first).is_dir()
    absent_or_whole(post, tmp_path, step)


@pytest.mark.parametrize("step", STEPS)
def test_missing_input_folder_is_one_line(post, step, tmp_path):
    gone = tmp_path / "no_such_folder"
    cmd = post["cmd"](step, tmp_path / "out", src=gone)
    if step == "merge":
        cmd[cmd.index("--qwen25_dir") + 1] = str(gone / "qwen25")
    line = error_line(run_cmd(cmd))
    assert str(gone) in line, line
    if (tmp_path / "out").exists():  # (merge writes the model whose chunks are there)
        absent_or_whole(post, tmp_path / "out", step)


# --- step 1: faults caught before a model loads ---------------------------------------------

def test_generation_refuses_unwritable_outputs_before_loading(tiny_model, gen_input, tmp_path):
    with read_only_dir(tmp_path / "ro") as ro:
        line = error_line(run_cmd(gen_cmd(tiny_model, gen_input, ro / "chunks")))
        assert f"{ro / 'chunks'}: cannot write chunks" in line, line
    a_file = tmp_path / "file"
    a_file.write_text("x")
    r = run_cmd(gen_cmd(tiny_model, gen_input, a_file))
    assert f"{a_file}: cannot be the chunk folder" in error_line(r)
    r = run_cmd(gen_cmd(tiny_model, tmp_path / "no_such_folder" / "in.json", tmp_path / "out"))
    assert f"{tmp_path / 'no_such_folder' / 'in.json'}: file not found" in error_line(r)
    with tmpfs(tmp_path / "tiny_fs", "4k") as small:  # one chunk at max_tokens 400 needs about 20 KB
        r = run_cmd(gen_cmd(tiny_model, gen_input, small / "chunks", "--max_tokens", "400"))
        line = error_line(r)
        assert f"{small / 'chunks'}:" in line and "less than one chunk's estimated" in line, line
        assert "Loading" not in r.stderr  # no engine started


# --- step 1 with real vLLM ----------------------------------------------------------------

def test_kill_9_of_generation_leaves_no_process_behind(killed_then_resumed):
    k = killed_then_resumed
    assert len(k["procs"]) >= 3, f"the run had too few processes to test: {k['procs']}"
    assert not k["orphans"], f"processes still running 10 s after kill -9: {k['orphans']}"
    print(f"\nkill -9 of generate_solutions.py: its {len(k['procs'])} processes gone in {k['gone_s']:.2f} s")
    assert k["rerun"].returncode == 0


@pytest.fixture(scope="session")
def full_disk_generation(tiny_model, gen_input, tmp_path_factory):
    base = tmp_path_factory.mktemp("gen_full")
    with tmpfs(base / "fs", "16k") as small:
        out = small / "chunks"
        # (vLLM's log goes elsewhere: by default it would go beside the chunk folder, on this small disk too)
        # a chunk's requests at a time: with every request in flight, the six chunks' lock files alone fill the disk
        r = run_cmd(gen_cmd(tiny_model, gen_input, out, "--max_tokens", "100", "--log_dir", str(base / "logs"),
                            "--max_in_flight", "2"))
        yield r, out


def test_full_disk_stops_generation_at_the_first_chunk_it_cannot_write(full_disk_generation):
    r, out = full_disk_generation
    line = error_line(r, engine_logs=True)
    assert "No space left on device" in line and "cannot write chunk" in line and "stopped there:" in line, line
    whole = sorted(out.glob("*_chunk_*.json"))
    assert f"{len(whole)} of 6 chunks are whole in {out}" in line
    assert 1 <= len(whole) < 6
    for p in whole:
        orjson.loads(p.read_bytes())
    no_partial(out)
    failed = int(line.split("cannot write chunk ")[1][:3])
    assert not chunk_path(out, failed).exists()


@pytest.fixture(scope="session")
def concurrent_generation(tiny_model, gen_input, tmp_path_factory):
    """Two real processes on chunks 0-2 of one folder, while this test holds chunk 1's lock:
    A skips what is locked, B (--wait_locked) waits for it; chunks 0 and 2 are raced for."""
    out = tmp_path_factory.mktemp("gen_concurrent") / "chunks"
    out.mkdir()
    held = ChunkLock(chunk_path(out, 1))
    assert held.try_acquire() is None
    logs = {name: out.parent / f"{name}.log" for name in "AB"}
    extra = {"A": [], "B": ["--wait_locked"]}
    procs = {name: subprocess.Popen(gen_cmd(tiny_model, gen_input, out, "--chunk_id", "0", "1", "2", *extra[name]),
                                    stdout=logs[name].open("w"), stderr=subprocess.STDOUT) for name in "AB"}
    deadline = time.monotonic() + 900
    try:
        while "chunk 001: waiting" not in logs["B"].read_text():
            assert procs["B"].poll() is None, logs["B"].read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        procs["A"].wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        held.release()
    procs["B"].wait(timeout=max(1, deadline - time.monotonic()))
    return out, {n: (procs[n].returncode, logs[n].read_text()) for n in "AB"}, held


def test_two_processes_never_generate_one_chunk(concurrent_generation):
    out, results, held = concurrent_generation
    for name, (rc, log) in results.items():
        assert rc == 0, f"{name}: {log[-3000:]}"
    a_log, b_log = results["A"][1], results["B"][1]
    assert f"chunk 001: skipped, locked by host {os.uname().nodename} pid {os.getpid()}" in a_log
    assert "chunk 001: 2 problems" in b_log  # B waited for the lock, then generated chunk 1
    for cid in (0, 2):
        writers = [n for n, (_, log) in results.items() if f"chunk {cid:03d}: 2 problems" in log]
        assert len(writers) == 1, f"chunk {cid} written by {writers}"
    for cid in range(3):
        data = orjson.loads(chunk_path(out, cid).read_bytes())
        assert [r["index"] for r in data["results"]] == [2 * cid, 2 * cid + 1]
    assert not list(out.glob(".*.lock*")), "a lock file was left behind"


@pytest.fixture(scope="session")
def preempted_generation(tiny_model, gen_input, tmp_path_factory):
    """SIGTERM (as Slurm sends before SIGKILL) once the first chunk is done and before the last chunk's requests
    go in, with a 60 s grace (again in a fresh folder if the chunks were all written at once: see
    ``generation_signalled_mid_run``)."""
    base = tmp_path_factory.mktemp("gen_term")
    run = generation_signalled_mid_run(
        lambda o: gen_cmd(tiny_model, gen_input, o, "--max_tokens", "200", "--term_grace_s", "60",
                          "--max_in_flight", "1"),
        lambda k: base / f"chunks{k or ''}", signal.SIGTERM, log_of=lambda o: o.parent / f"log_{o.name}.txt")
    out, rc, orphans = run["folder"], run["proc"].returncode, run["orphans"]
    log = out.parent / f"log_{out.name}.txt"
    plan = run_cmd(gen_cmd(tiny_model, gen_input, out, "--max_tokens", "200", "--dry_run"))
    return out, rc, log.read_text(), orphans, plan


def test_sigterm_finishes_the_chunk_in_flight_then_stops(preempted_generation):
    out, rc, log, orphans, plan = preempted_generation
    assert rc == 143, log[-3000:]
    assert not orphans
    done = sorted(int(p.name[-8:-5]) for p in out.glob("*_chunk_*.json"))
    assert "SIGTERM: finishing chunk" in log or "SIGTERM: stopping" in log, log[-2000:]
    if "SIGTERM: finishing chunk" in log:
        said = log.split("SIGTERM: finishing ")[1].split(" (about")[0]
        finishing = [int(c) for c in re.findall(r"chunk (\d{3})", said)]
        assert finishing and set(finishing) <= set(done)  # the chunks in flight were finished, whole
    assert done == list(range(len(done))) and 1 <= len(done) < 6, done
    for cid in done:
        orjson.loads(chunk_path(out, cid).read_bytes())
    no_partial(out)
    assert "stopped by SIGTERM" in log
    # the requeued task (the same command) runs exactly the missing chunks
    assert f"to run: {list(range(len(done), 6))}" in plan.stdout, plan.stdout


def test_parallel_runner_stops_every_worker_process_on_sigterm(tiny_model, gen_input, tmp_path):
    out, logs = tmp_path / "chunks", tmp_path / "logs"
    cmd = [str(ROOT / "run_qwen25_parallel.sh"), "--gpus", "2", "--log_dir", str(logs), "--python", PY, "--",
           *gen_cmd(tiny_model, gen_input, out, "--max_tokens", "400")[4:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 900
    try:
        while len(list(out.glob("*_chunk_*.json"))) < 2:  # both engines are up once chunks appear
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        procs = run_processes(proc.pid)
        workers = {p for p in procs if "generate_solutions.py" in Path(f"/proc/{p}/cmdline").read_text()}
        for w in list(workers):
            procs |= run_processes(w)
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=60)
        gone_s, orphans = wait_gone(procs, timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    kill_all(orphans)
    assert rc == 143 and len(workers) == 2
    assert not orphans, f"still running 10 s after the runner stopped: {orphans}"
    for p in out.glob("*_chunk_*.json"):
        orjson.loads(p.read_bytes())
