"""How the pipeline runs a step: the step's script as a subprocess (the scripts are the public CLI), its
output on the screen and in ``logs/pipeline_<step>.log``, its summary in ``logs/summary_<step>.json``;
a failing step stops the run, naming itself and its log. And the one question the pipeline asks.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from cft.common.paths import DataRoot

STOP_WAIT_S = 10.0  # after Ctrl-C, how long a step may take to stop by itself before it gets SIGTERM


class StepFailed(Exception):
    def __init__(self, step: str, code: int, log: Path | None = None):
        self.step, self.code, self.log = step, code, log
        where = f"; its log is {log}" if log else ""
        super().__init__(f"step '{step}' failed (exit {code}){where}")


def banner(title: str) -> None:
    print(f"\n\033[1m=== {title} ===\033[0m", flush=True)


def step_env() -> dict[str, str]:
    """The steps' environment: ours, with their output unbuffered (it is teed as it comes)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_step(root: DataRoot, step: str, argv: list[str]) -> Path:
    """Run one step with ``--summary_json logs/summary_<step>.json``; its summary's path. A summary left by an
    earlier run goes first, so that a step that fails leaves none that looks like this run's."""
    banner(step)
    summary, log = root.summary_file(step), root.step_log(step)
    summary.unlink(missing_ok=True)
    code = tee([*argv, "--summary_json", str(summary)], log)
    if code != 0:
        raise StepFailed(step, code, log)
    return summary


def tee(argv: list[str], log: Path) -> int:
    """Run ``argv`` with its stdout and stderr on ours and in ``log``; its exit code. Ctrl-C waits for the step
    to stop (it got the signal too), SIGTERM passes on to it; either way its last words are kept."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=step_env())
        try:
            _drain(proc, out)
        except BaseException as e:
            try:
                stopped = isinstance(e, KeyboardInterrupt) and _drain(proc, out, STOP_WAIT_S)
                if not stopped:
                    proc.terminate()
                    _drain(proc, out)
            except BaseException:  # noqa: BLE001  (a second Ctrl-C: stop it now)
                proc.kill()
            proc.wait()
            raise
        return proc.wait()


def _drain(proc: subprocess.Popen, out, timeout_s: float | None = None) -> bool:
    """Copy the step's output until it ends (True), or until ``timeout_s`` passes (False)."""
    fd = proc.stdout.fileno()
    end = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        if end is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return True
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        out.write(chunk)


def capture(step: str, argv: list[str]) -> str:
    """Run a step whose output is data (``generate_commands.py``): its stdout; its stderr shows as it is."""
    banner(step)
    r = subprocess.run(argv, stdout=subprocess.PIPE, text=True, env=step_env(), check=False)
    if r.returncode != 0:
        raise StepFailed(step, r.returncode)
    return r.stdout


def ask(question: str, default: str, unattended: bool) -> str:
    """The answer to ``question`` from the terminal (``/dev/tty``); ``default`` when unattended, when no terminal
    can be read, or on an empty answer."""
    if unattended:
        return default
    try:
        with open("/dev/tty", "w") as out, open("/dev/tty") as tty:  # (a tty opened "r+" is refused: no seek)
            out.write(f"{question} [{default}] ")
            out.flush()
            answer = tty.readline().strip()
    except OSError:
        return default
    return answer or default


def unattended(yes: bool) -> bool:
    """--yes, or nobody to ask: standard input is no terminal."""
    return yes or not sys.stdin.isatty()

