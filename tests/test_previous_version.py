"""Files the previous version wrote, read by this one: a run started before an upgrade resumes, merges,
filters, re-grades and formats without being redone.

tests/data/previous_version/ was written by the code of commit 8de4052 (the flat ``cft`` package, before the
subpackages and the request loop): its step 1's chunk metadata (``RunConfig.sampling()``, ``chunk_metadata``)
for both built-in models, 16 problems in 4 chunks of 4, 4 samples each (some cut off), graded by its grader;
then its own merge_solutions.py, filter_solutions.py and generate_critique_data.py on them. No model needed.
"""

from __future__ import annotations

import os
import shutil
import sys

import orjson
import pytest
from conftest import ROOT, run_cmd

PY = sys.executable
OFFLINE = {**os.environ, "HF_HUB_OFFLINE": "1"}  # nothing here may need the hub

DATA = ROOT / "tests" / "data" / "previous_version"
MODELS = {"qwen25": "qwen-2.5-math-7b", "qwen3": "qwen3-4b-base"}


def load(path):
    return orjson.loads(path.read_bytes())


def results(path):
    data = load(path)
    return data["results"] if isinstance(data, dict) else data


@pytest.fixture
def old(tmp_path):
    """A copy of the previous version's files (the steps write beside them)."""
    shutil.copytree(DATA, tmp_path / "old")
    return tmp_path / "old"


def ok(r):
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.mark.parametrize("alias", MODELS)
def test_step_1_resumes_its_chunks_without_redoing_them(old, alias):
    """The same command as the previous version's run finds every chunk done (no engine, no tokenizer, no hub);
    a changed setting is named, so the match above is not a check that passes anything."""
    cmd = [PY, str(ROOT / "generate_solutions.py"), "--model", alias, "--input_file", str(old / "problems.json"),
           "--output_dir", str(old / f"solutions_{alias}"), "--chunk_size", "4", "--num_samples", "4",
           "--max_tokens", "64"]
    before = {p.name: p.read_bytes() for p in (old / f"solutions_{alias}").iterdir()}
    r = ok(run_cmd(cmd, env=OFFLINE))
    assert "to run: [], already done (skipped): [0, 1, 2, 3]" in r.stdout
    assert {p.name: p.read_bytes() for p in (old / f"solutions_{alias}").iterdir()} == before
    r = run_cmd([*cmd[:-1], "65", "--dry_run"], env=OFFLINE)
    assert r.returncode == 1 and "exists but is not this run's chunk" in r.stderr and "'max_tokens': 65" in r.stderr


def test_merge_of_its_chunks_gives_its_merged_rows(old, tmp_path):
    out = tmp_path / "merged"
    ok(run_cmd([PY, str(ROOT / "merge_solutions.py"), "--chunk_dir",
                *(f"{alias}=" + str(old / f"solutions_{alias}") for alias in MODELS),
                "--input_file", str(old / "problems.json"), "--output_dir", str(out)]))
    for alias in MODELS:
        name = f"deepscaler_{alias}_solutions.json"
        assert results(out / name) == results(old / name)


def test_filter_of_its_merged_files_keeps_its_problems(old, tmp_path):
    out = tmp_path / "filtered.json"
    ok(run_cmd([PY, str(ROOT / "filter_solutions.py"), "--solutions",
                *(f"{alias}=" + str(old / f"deepscaler_{alias}_solutions.json") for alias in MODELS),
                "--original_file", str(old / "problems.json"), "--output_file", str(out)]))
    kept, theirs = results(out), results(old / "deepscaler_train_filter.json")
    assert [r["index"] for r in kept] == [r["index"] for r in theirs] and 0 < len(kept) < 16
    for new, prev in zip(kept, theirs):
        for alias in MODELS:
            assert new[f"{alias}_solutions"] == prev[f"{alias}_solutions"]
        assert {k: new[k] for k in ("problem", "answer", "solution", "level")} == \
               {k: prev[k] for k in ("problem", "answer", "solution", "level")}


def test_regrade_of_its_chunks_changes_no_verdict(old):
    folder = old / "solutions_qwen25"
    before = [[s["grade"] for r in results(p) for s in r["solutions"]] for p in sorted(folder.iterdir())]
    ok(run_cmd([PY, str(ROOT / "grade_solutions.py"), "--input_dir", str(folder), "--workers", "1"]))
    after = [[s["grade"] for r in results(p) for s in r["solutions"]] for p in sorted(folder.iterdir())]
    assert after == before and "no_answer" in {g for chunk in after for g in chunk}


def test_steps_4_and_5_read_its_rows(old, tmp_path):
    """Step 4 on its filtered file draws the rows it drew; step 5 formats its critique rows."""
    critique = tmp_path / "critique.json"
    ok(run_cmd([PY, str(ROOT / "generate_critique_data.py"), "--filtered_file",
                str(old / "deepscaler_train_filter.json"), "--output_file", str(critique)]))
    theirs = results(old / "deepscaler_critique.json")
    assert results(critique) == theirs
    formatted = tmp_path / "formatted.json"
    ok(run_cmd([PY, str(ROOT / "format_critique_data.py"), "--critique_file", str(old / "deepscaler_critique.json"),
                "--output_file", str(formatted)]))
    val = formatted.with_name("formatted_val.json")
    assert len(results(formatted)) + len(results(val)) == len(theirs)
