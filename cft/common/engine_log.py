"""Quiet by default: an engine's own output goes to a log file, the terminal keeps ours.

vLLM, torch and Triton print setup notes and warnings (tcmalloc, NUMA binding, Triton, a forced
shutdown) on stdout and stderr, from Python and from C++, in this process and in the worker
processes vLLM spawns. ``route_engine_output(log)`` points file descriptors 1 and 2 at the log for
the rest of the process, so all of that, and whatever the children inherit, lands there; then
``sys.stdout`` and ``sys.stderr`` are reopened on copies of the original descriptors, so our own
progress lines, progress bars, summaries and error lines still reach the terminal. vLLM's own
loggers, which it configures again in every engine process, get a logging config of their own
(``VLLM_LOGGING_CONFIG_PATH``) that writes to the same log. Python warnings go to the log too. An uncaught
exception (an engine that failed to start) is printed on the terminal with the log's last lines,
where vLLM writes the root cause.

``process_log(log_dir, "engine", alias, "chunk003")`` names one such log per process: what it runs,
and under Slurm the job (``job<array id>_<task>`` or ``job<id>``) and the attempt
(``attempt<SLURM_RESTART_COUNT>``, 0 until the job is requeued), so that concurrent array tasks and a
requeued task's attempts each keep their own file.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging.config
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

TAIL_LINES = 15


def slurm_tag(environ=os.environ) -> str | None:
    """``job<array job id>_<task>_attempt<n>`` (``job<id>_attempt<n>`` for a plain job) inside a Slurm job,
    else None."""
    job = environ.get("SLURM_JOB_ID")
    if not job:
        return None
    array, task = environ.get("SLURM_ARRAY_JOB_ID"), environ.get("SLURM_ARRAY_TASK_ID")
    return f"job{f'{array}_{task}' if array and task else job}_attempt{environ.get('SLURM_RESTART_COUNT') or 0}"


def process_log(log_dir: str | os.PathLike, *parts: str, environ=os.environ) -> Path:
    """``<log_dir>/<part>_<part>..._[<slurm_tag>].log``: one log per process (empty parts are left out)."""
    name = "_".join(p for p in (*parts, slurm_tag(environ)) if p)
    return Path(log_dir) / f"{name}.log"


def route_engine_output(log_path: str | os.PathLike, verbose: bool = False) -> Path | None:
    """Send this process's fd 1 and 2 (and its future children's) to ``log_path``; None if ``verbose``."""
    if verbose:
        return None
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(log_fd, f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: "
                     f"{' '.join(sys.argv)}\n".encode())
    terminal = os.dup(1), os.dup(2)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    if "VLLM_LOGGING_CONFIG_PATH" not in os.environ:  # vLLM's loggers, in every process, to the log file
        os.environ["VLLM_LOGGING_CONFIG_PATH"] = _logging_config(log_path)
        with open(os.environ["VLLM_LOGGING_CONFIG_PATH"]) as f:  # here too, before vLLM configures them
            logging.config.dictConfig(json.load(f))
    import vllm  # noqa: F401 (what it prints on import goes to the log)

    log = sys.stderr
    sys.stdout = _reopen(terminal[0], sys.stdout)
    sys.stderr = _reopen(terminal[1], sys.stderr)
    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: log.write(
        warnings.formatwarning(message, category, filename, lineno, line))
    hook = sys.excepthook

    def excepthook(kind, value, tb):
        traceback.print_exception(kind, value, tb, file=log)
        log.flush()
        hook(kind, value, tb)
        print(f"the engine's own output is in {log_path}; its last lines:\n" + tail(log_path), file=sys.stderr)

    sys.excepthook = excepthook
    return log_path


def _logging_config(log_path: Path) -> str:
    """A logging config for vLLM (``VLLM_LOGGING_CONFIG_PATH``): its loggers write to ``log_path``. vLLM
    applies it in the main process and again in each engine process, whatever streams they have then."""
    config = {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(levelname)s %(asctime)s %(processName)s %(name)s: %(message)s"}},
        "handlers": {"log": {"class": "logging.FileHandler", "filename": str(log_path.resolve()), "mode": "a",
                             "formatter": "plain"}},
        "loggers": {"vllm": {"handlers": ["log"], "level": os.environ.get("VLLM_LOGGING_LEVEL", "INFO"),
                             "propagate": False}},
    }
    fd, path = tempfile.mkstemp(prefix="cft-vllm-logging-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _reopen(fd: int, old: io.TextIOBase) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=True), encoding=getattr(old, "encoding", None) or "utf-8",
                            errors="backslashreplace", line_buffering=True, write_through=True)


def tail(path: str | os.PathLike, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode(errors="replace")
    except OSError:
        return "  (unreadable)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])
