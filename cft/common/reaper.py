"""No orphans: when generate_solutions.py dies, even by ``kill -9``, every process of its run goes too.

SIGKILL cannot be caught in-process, and vLLM's EngineCore / Worker processes (and the
grading pool) are re-parented to init and live on, holding GPU memory. Two parts:

- ``mark_run()``, at the very top of the script: re-executes the script once (``execv``
  keeps the pid, process group and terminal) with ``CFT_RUN_ID=<pid>:<random>`` in its
  environment. Every descendant, spawned or forked, then carries that marker in
  ``/proc/<pid>/environ``, whichever process started it and wherever it was re-parented
  (``SPT_NOENV=1`` stops vLLM's process titles from overwriting that area).
- ``start_reaper()``, before the engine and the grading pool start: a small process in its own
  session (so a signal to the run's process group spares it) that waits for the main process
  to end (a pidfd, else polling its parent pid) and then SIGKILLs every process carrying the
  marker, until none is left. While the run lives it sleeps in one blocking ``poll``. It says
  what it killed on stderr, unless the main process exited in order (it then says so on a pipe).

A process group alone would not do: an interactive shell puts the script in a group of its own,
but a pipeline, a script or ``subprocess`` shares its caller's group, so killing "the group"
could kill the caller. ``PR_SET_PDEATHSIG`` would need code in vLLM's own children and fires on
the death of the parent *thread*. ``CFT_NO_REAPER=1`` turns both parts off (for benchmarks).
"""

from __future__ import annotations

import atexit
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ENV = "CFT_RUN_ID"


def mark_run() -> str | None:
    """Re-exec this process once with a run marker of its own; return the marker."""
    if os.environ.get("CFT_NO_REAPER") or not sys.platform.startswith("linux"):
        return None
    token = os.environ.get(ENV, "")
    if token.split(":")[0] == str(os.getpid()):  # already re-executed (a marker inherited from
        return token                             # another run has another pid and is replaced)
    os.environ[ENV] = f"{os.getpid()}:{secrets.token_hex(8)}"
    os.environ["SPT_NOENV"] = "1"  # vLLM's setproctitle would otherwise overwrite /proc/<pid>/environ
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return None  # not reached


def run_token() -> str | None:
    token = os.environ.get(ENV, "")
    return token if token.split(":")[0] == str(os.getpid()) else None


def guard_spawned_children() -> subprocess.Popen | None:
    """``start_reaper`` for a script whose worker processes are all spawned (exec'd, as by a "spawn"
    multiprocessing context): they inherit a marker set in-process, so no re-exec is needed."""
    if os.environ.get("CFT_NO_REAPER") or not sys.platform.startswith("linux"):
        return None
    if run_token() is None:
        os.environ[ENV] = f"{os.getpid()}:{secrets.token_hex(8)}"
    return start_reaper()


_reaper: subprocess.Popen | None = None


def start_reaper() -> subprocess.Popen | None:
    """Start the watchdog of this (marked) run, once (a second call while it runs returns it); None when the run
    is not marked."""
    global _reaper
    token = run_token()
    if token is None:
        return None
    if _reaper is not None and _reaper.poll() is None:
        return _reaper
    env = {k: v for k, v in os.environ.items() if k != ENV}
    proc = subprocess.Popen([sys.executable, "-m", "cft.common.reaper", str(os.getpid()), token], env=env,
                            stdin=subprocess.PIPE, start_new_session=True,
                            cwd=Path(__file__).resolve().parents[2])  # where ``cft`` is importable
    atexit.register(_note_clean_exit, proc)
    _reaper = proc
    return proc


def _note_clean_exit(proc: subprocess.Popen) -> None:
    """Tell the reaper this is an orderly exit (it still cleans up, but quietly)."""
    try:
        proc.stdin.write(b"exit\n")
        proc.stdin.flush()
    except (OSError, ValueError):
        pass


def marked_pids(token: str) -> list[int]:
    """Processes whose environment carries ``CFT_RUN_ID=<token>`` (this process excluded)."""
    needle = f"{ENV}={token}\0".encode()
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def kill_marked(token: str, deadline_s: float = 10.0) -> int:
    """SIGKILL every marked process, again until none is left; returns how many were killed."""
    killed: set[int] = set()
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        pids = marked_pids(token)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return len(killed)


def wait_for_exit(pid: int) -> None:
    """Block until process ``pid`` (this process's parent) has ended."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (kernel < 5.3), or the parent is already gone
        fd = None
    if fd is not None and os.getppid() == pid:  # the pidfd is of our parent, not of a reused pid
        select.select([fd], [], [])
        os.close(fd)
        return
    while os.getppid() == pid:
        time.sleep(0.2)


def main(argv: list[str]) -> None:
    pid, token = int(argv[0]), argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the run's end stops the reaper
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    wait_for_exit(pid)
    t0 = time.monotonic()
    n = kill_marked(token)
    clean = bool(select.select([sys.stdin], [], [], 0)[0]) and sys.stdin.buffer.read1(16).startswith(b"exit")
    if n and not clean:
        print(f"reaper: pid {pid} ended; killed {n} leftover processes of its run in "
              f"{time.monotonic() - t0:.2f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
