"""Every flag the README and docs/ mention exists: the script the text names accepts it (or, where the text
names no script, some script does). A merge once dropped two flags the README still showed."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SCRIPTS = sorted([*ROOT.glob("*.py"), *ROOT.glob("*.sh"), *(ROOT / "bench").glob("*.py")])
SCRIPT = re.compile(r"(?<![\w/.-])((?:bench/)?[\w-]+\.(?:py|sh))\b|python -m (cft\.[\w.]+)")
# commands of other tools: a flag after one of these on a line is that tool's
FOREIGN = re.compile(r"(?<![\w/.-])(?:pip|sbatch|#SBATCH|scancel|scontrol|squeue|huggingface-cli|hf upload|git|make|"
                     r"pytest|ruff|curl|torchrun|swift sft|python -m (?:venv|vllm|verl|pip|pytest)|vllm serve|"
                     r"api_server)(?![\w-])")
FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9_]*)(?![a-z0-9_-])")  # ours use _, never -
# sbatch options the Slurm section quotes from the generated scripts
SLURM_OPTIONS = {"requeue", "signal", "dependency"}


def doc_flags(paths=DOCS) -> list[tuple[str, int, str | None, str]]:
    """(file, line number, script the text names or None, flag) for every ``--flag`` in ``paths``."""
    found = []
    for path in paths:
        text = Path(path).read_text().replace("\\\n", " ")  # a command continued over lines is one line
        for n, line in enumerate(text.splitlines(), 1):
            commands = [(m.start(), m.group(1) or m.group(2)) for m in SCRIPT.finditer(line)]
            commands += [(m.start(), None) for m in FOREIGN.finditer(line)]
            for m in FLAG.finditer(line):
                before = [c for c in commands if c[0] < m.start()]
                if before and max(before)[1] is None:
                    continue  # another tool's flag
                if m.group(1) in SLURM_OPTIONS:
                    continue
                found.append((Path(path).name, n, _script(max(before)[1]) if before else None, m.group(1)))
    return found


def _script(name: str) -> str:
    """A script as the text names it: ``grading_accuracy.py`` in a table of benchmarks is bench/'s."""
    return f"bench/{name}" if not name.startswith("cft.") and not (ROOT / name).exists() \
        and (ROOT / "bench" / name).exists() else name


@cache
def help_text(script: str) -> str:
    if script.startswith("cft."):
        cmd = [sys.executable, "-m", script, "--help"]
    elif script.endswith(".sh"):
        cmd = ["bash", str(ROOT / script), "--help"]
    else:
        cmd = [sys.executable, str(ROOT / script), "--help"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, f"{script} --help failed: {r.stderr[-2000:]}"
    return r.stdout + r.stderr


def accepts(script: str, flag: str) -> bool:
    return re.search(rf"--{flag}(?![a-z0-9_])", help_text(script)) is not None


def missing_flags(paths=DOCS) -> list[str]:
    missing = []
    for doc, line, script, flag in doc_flags(paths):
        if script is not None:
            if not script.startswith("cft.") and not (ROOT / script).is_file():
                missing.append(f"{doc}:{line}: names {script}, which does not exist")
            elif not accepts(script, flag):
                missing.append(f"{doc}:{line}: {script} has no --{flag}")
        elif not any(accepts(s.relative_to(ROOT).as_posix(), flag) for s in SCRIPTS):
            missing.append(f"{doc}:{line}: no script has --{flag}")
    return missing


def test_the_scan_sees_flags_and_their_scripts():
    flags = doc_flags()
    assert len(flags) > 100
    assert ("README.md", flags[0][1], flags[0][2], flags[0][3]) == flags[0]
    named = {(script, flag) for _, _, script, flag in flags}
    assert ("run_full_pipeline.sh", "decontaminate_args") in named
    assert ("generate_critique_data.py", "max_prompt_tokens") in named


def test_every_documented_flag_exists():
    assert missing_flags() == []


def test_a_flag_no_script_has_is_caught(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("Run `run_full_pipeline.sh --no_such_flag`.\nOr pass `--nor_this_one`.\n"
                   "`pip install --upgrade x` is pip's; `merge_solutions.py --allow_partial` exists.\n")
    assert missing_flags([doc]) == ["doc.md:1: run_full_pipeline.sh has no --no_such_flag",
                                    "doc.md:2: no script has --nor_this_one"]


@pytest.mark.parametrize("script", ["generate_solutions.py", "run_full_pipeline.sh", "merge_solutions.py"])
def test_help_works(script):
    assert "usage" in help_text(script).lower()
