"""Logs a file can hold: progress as plain lines where the output is not a terminal (a Slurm log), a bar on a
terminal; one engine log per process, named by what it runs and, in a Slurm job, the job and attempt."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from conftest import ROOT

from cft.common.engine_log import process_log, slurm_tag

COUNT = """
import time
from cft.common.progress import progress_bar
bar = progress_bar(total=20, desc="problems of m", unit="problem")
for _ in range(20):
    time.sleep(0.03)
    bar.update(1)
bar.close()
print("done", flush=True)
"""


def run_count(stderr, every_s: str = "30") -> None:
    env = {**os.environ, "CFT_PROGRESS_S": every_s, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", COUNT], stderr=stderr, stdout=subprocess.DEVNULL, env=env, check=True,
                   timeout=60)


def test_progress_in_a_file_is_plain_lines(tmp_path):
    log = tmp_path / "task.log"
    with open(log, "w") as f:  # a line at most every hour: the first and the last
        run_count(f, "3600")
    text = log.read_text()
    assert "\r" not in text and text.endswith("\n")
    first, last = text.splitlines()
    assert first == "problems of m: 0/20 (0%), 00:00 elapsed, ?problem/s, about ? left"
    assert re.fullmatch(r"problems of m: 20/20 \(100%\), \d\d:\d\d elapsed, +[\d.]+problem/s, about 00:00 left", last)
    with open(log, "w") as f:  # a line as often as it comes: each a whole line, counting up
        run_count(f, "0")
    text = log.read_text()
    counts = [int(m.group(1)) for m in re.finditer(r"^problems of m: (\d+)/20 \(\d+%\), .* left$", text, re.M)]
    assert "\r" not in text and len(counts) == len(text.splitlines()) >= 3
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 20


def test_progress_on_a_terminal_is_a_bar(tmp_path):
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns (0 by default)
    try:
        run_count(secondary)
        os.close(secondary)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
    text = out.decode()
    assert "\r" in text and "20/20 [" in text and "|" in text  # tqdm's redrawn bar


def test_engine_logs_are_one_per_process(tmp_path):
    assert slurm_tag({}) is None
    assert process_log(tmp_path, "engine", "qwen25", "chunk003", environ={}) == tmp_path / "engine_qwen25_chunk003.log"
    task = {"SLURM_JOB_ID": "4714", "SLURM_ARRAY_JOB_ID": "4711", "SLURM_ARRAY_TASK_ID": "3"}
    assert process_log(tmp_path, "engine", "qwen25", "chunk003", environ=task) == \
        tmp_path / "engine_qwen25_chunk003_job4711_3_attempt0.log"
    again = {**task, "SLURM_RESTART_COUNT": "1"}
    assert process_log(Path("logs"), "engine", "qwen25", "", environ=again) == \
        Path("logs") / "engine_qwen25_job4711_3_attempt1.log"
    assert slurm_tag({"SLURM_JOB_ID": "12"}) == "job12_attempt0"
