import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache for the CPU engine in tests
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random-weight Qwen2 (real vLLM serves it on CPU), built once per session."""
    from cft.fixtures.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


# The API key of the shared test server, read from $SERVER_KEY_ENV by the code under test: it must never
# appear in any output, log or file of ours (tests grep for it).
SERVER_KEY_ENV = "CFT_TEST_API_KEY"
SERVER_KEY = "sk-cft-test-sentinel-5f3a9c0e7b214d68"


@pytest.fixture(scope="session")
def tiny_server(tiny_model, tmp_path_factory):
    """A real vLLM OpenAI-compatible server on the tiny model, on 127.0.0.1, started once per session for every
    test that needs one and stopped (its whole process group) at the end; its base URL. It wants the API key
    ``SERVER_KEY``, which this fixture puts in ``$SERVER_KEY_ENV``."""
    from servers import vllm_server

    os.environ[SERVER_KEY_ENV] = SERVER_KEY
    with vllm_server(tiny_model, tmp_path_factory.mktemp("tiny_server") / "server.log", SERVER_KEY) as url:
        yield url


def arithmetic_rows(n: int) -> list[dict]:
    return [{"problem": f"What is {i} + {i % 7}?", "answer": str(i + i % 7), "id": f"p{i}"} for i in range(n)]


@pytest.fixture(scope="session")
def gen_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen_input") / "deepscaler_train.json"
    path.write_bytes(orjson.dumps(arithmetic_rows(12)))
    return path


GEN_CHUNKS = 6  # gen_input's 12 rows in gen_cmd's chunks of 2


def gen_cmd(model_path, input_file, output_dir, *extra, model="qwen25"):
    """generate_solutions.py on the tiny model: 12 problems in 6 chunks of 2, 4 samples each."""
    return [sys.executable, str(ROOT / "generate_solutions.py"), "--model", model, "--model_path", str(model_path),
            "--input_file", str(input_file), "--output_dir", str(output_dir), "--chunk_size", "2",
            "--num_samples", "4", "--max_tokens", "48", "--max_model_len", "512", "--enforce_eager",
            "--grading_workers", "1", *extra]


def run_cmd(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def error_line(r) -> str:
    """A step's one error line (exit code 1, no traceback)."""
    assert r.returncode == 1, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr[-2000:]
    return errors[0]


def no_key_anywhere(r, folder) -> None:
    """The shared server's key in neither the step's output ``r`` nor any file under ``folder``."""
    assert SERVER_KEY not in r.stdout + r.stderr
    for path in Path(folder).rglob("*"):
        if path.is_file():
            assert SERVER_KEY.encode() not in path.read_bytes(), path


# --- processes of a run, for the no-orphans checks ---------------------------------------

def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), fields[0])
    return table


def run_processes(pid: int) -> set[int]:
    """Live processes of the run of generate_solutions.py ``pid``: its descendants, and every process
    carrying its run marker (cft/common/reaper.py), wherever it was re-parented."""
    table = _proc_table()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (pp, _) in table.items() if pp in frontier} - found
        found |= frontier
    needle = f"CFT_RUN_ID={pid}:".encode()
    for p in table:
        try:
            if needle in Path(f"/proc/{p}/environ").read_bytes():
                found.add(p)
        except OSError:
            pass
    return {p for p in found | {pid} if table.get(p, (0, "Z"))[1] != "Z"}


def wait_gone(pids: set[int], timeout: float = 10.0) -> tuple[float, set[int]]:
    """Seconds until none of ``pids`` runs (zombies count as gone), and those still running at ``timeout``."""
    t0 = time.monotonic()
    while True:
        table = _proc_table()
        alive = {p for p in pids if p in table and table[p][1] != "Z"}
        if not alive or time.monotonic() - t0 > timeout:
            return time.monotonic() - t0, alive
        time.sleep(0.05)


def kill_all(pids) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def signal_once_written(proc, first: Path, sig: int = signal.SIGKILL, jitter_s: float = 0.0,
                        timeout: float = 600, last: Path | None = None) -> set[int]:
    """Send ``sig`` to the main process of our run ``proc`` ``jitter_s`` seconds after the file ``first``
    appears, or as soon as ``last`` appears if that comes first; the run's processes. A thread lists them while
    the run waits for the file, and they are listed again right after the signal (by the run marker, which
    outlives re-parenting): the signal follows the file by one poll and the jitter, not by a scan of /proc (up to
    0.8 s on a loaded machine, where a CI run once found every chunk done before the kill)."""
    procs, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            procs.update(run_processes(proc.pid))
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deadline = time.monotonic() + timeout
    try:
        while not first.exists():
            assert proc.poll() is None, f"the run exited before writing {first.name}"
            assert time.monotonic() < deadline, f"{first.name} not written in {timeout:.0f} s"
            time.sleep(0.02)
    finally:
        stop.set()
    end = time.monotonic() + jitter_s
    while time.monotonic() < end and not (last is not None and last.exists()):
        time.sleep(0.01)
    os.kill(proc.pid, sig)
    watcher.join()
    return procs | run_processes(proc.pid)


def generation_signalled_mid_run(cmd, folder_of, sig: int, jitter_s: float = 0.0, log_of=None,
                                 attempts: int = 3) -> dict:
    """Run generation ``cmd(folder)`` (on ``gen_input``: ``GEN_CHUNKS`` chunks) and signal it once its first chunk
    is written and before its last chunk's requests go in (``signal_once_written``), until an attempt leaves part
    of the run undone. A chunk's file waits for its grades, so on a loaded machine one slow grade can hold the
    first chunk's file back until the rest are generated; then all are written at once and no moment of the run
    lies between them. Each attempt gets a fresh folder, ``folder_of(k)``, with its output in ``log_of(folder)``
    if given. Returns the last attempt's folder, process, processes and the seconds until they were gone, and the
    processes of every attempt that outlived their run by 10 s."""
    orphans = set()
    for k in range(attempts):
        folder = folder_of(k)
        log = log_of(folder).open("w") if log_of else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(cmd(folder), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            procs = signal_once_written(proc, chunk_path(folder, 0), sig, jitter_s,
                                        last=lock_path(folder, GEN_CHUNKS - 1))
            try:
                proc.wait(timeout=120)
            finally:
                gone_s, left = wait_gone(procs, timeout=10.0)
                kill_all(left)  # leave the machine clean even when the check fails
                orphans |= left
        finally:
            if log_of:
                log.close()
        if len(list(folder.glob("*_chunk_*.json"))) < GEN_CHUNKS:
            break
    return {"folder": folder, "proc": proc, "procs": procs, "gone_s": gone_s, "orphans": orphans}


def chunk_path(folder, cid, model="qwen-2.5-math-7b"):
    return Path(folder) / f"{model}_chunk_{cid:03d}.json"


def lock_path(folder, cid, model="qwen-2.5-math-7b"):
    """The lock a run takes before a chunk's first request goes in."""
    return Path(folder) / f".{model}_chunk_{cid:03d}.json.lock"


@pytest.fixture(scope="session")
def killed_then_resumed(tiny_model, gen_input, tmp_path_factory):
    """Run generation, kill -9 its main process (only) at a random moment after the first chunk lands (again in
    a fresh folder if the chunks were all written at once: see ``generation_signalled_mid_run``), check that no
    process of the run outlives it by 10 s, then rerun to the end."""
    # one request in flight (a chunk is two): the 5 chunks after the first take about 5 s here, against 2.9 s
    # with the default two; the rerun (the same command but for the scheduling) runs at the default. The kill
    # comes before the last chunk's requests go in (its lock is taken first), whatever the jitter.
    base = tmp_path_factory.mktemp("gen")
    jitter = random.Random(os.environ.get("CFT_FAULT_SEED", "13")).uniform(0, 0.3)
    run = generation_signalled_mid_run(
        lambda o: gen_cmd(tiny_model, gen_input, o, "--max_tokens", "200", "--max_in_flight", "1"),
        lambda k: base / ("solutions_qwen25" if k == 0 else f"solutions_qwen25_try{k}"), signal.SIGKILL, jitter)
    out = run["folder"]
    after_kill = {p.name: p.read_bytes() for p in out.iterdir()}
    rerun = run_cmd(gen_cmd(tiny_model, gen_input, out, "--max_tokens", "200"))
    return {"out": out, "after_kill": after_kill, "rerun": rerun, "procs": run["procs"], "gone_s": run["gone_s"],
            "orphans": run["orphans"]}


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A real single-node Slurm (tests/slurm_cluster.py: munged, slurmctld, slurmd of its own), started once for
    every Slurm test and stopped by pid at the end (its jobs cancelled first). Clients reach it with
    ``cluster.env`` (its ``SLURM_CONF``; this process's environment is left alone). Where it cannot run (not
    root, Slurm not installed: ``make slurm-deps``) the Slurm tests are skipped with one line saying why; where
    ``CI=true`` they fail instead."""
    import slurm_cluster

    why = slurm_cluster.missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Slurm tests cannot run here: {why}", pytrace=False)
        pytest.skip(f"no test Slurm: {why}")
    cluster = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    yield cluster
    cluster.stop()
