"""Step 5's held-out split: whole problems, chosen with a seed, into _val.json / _val.parquet."""

import argparse
import json
import subprocess
import sys

import orjson
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from cft.common.errors import CftError
from cft.critic.split import held_out, val_path, val_size_arg


def critique_row(index, k, target):
    return {"index": index, "question": f"Q{index}?", "solution": f"S{index}.{k}", "ground_truth": "1",
            "target": target, "prompt": f"PROMPT {index}.{k}", "source_model": "qwen3-4b-base", "solution_index": k,
            "extracted_answer": "1"}


def rows_of(problems, per_problem=4):
    return [critique_row(i, k, "right" if k % 2 else "wrong") for i in problems for k in range(per_problem)]


def test_val_size_is_a_fraction_or_a_count():
    assert val_size_arg("0.05") == 0.05 and val_size_arg("0") == 0.0
    assert val_size_arg("500") == 500 and isinstance(val_size_arg("1"), int)
    for bad in ("2.5", "-0.1", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            val_size_arg(bad)


def test_held_out_problems():
    problems = set(range(100))
    assert len(held_out(problems, 0.05, 0)) == 5 and len(held_out(problems, 7, 0)) == 7
    assert held_out(problems, 0.05, 0) == held_out(set(reversed(range(100))), 0.05, 0)  # not the row order
    assert held_out(problems, 0.05, 0) != held_out(problems, 0.05, 1)  # the seed chooses
    assert held_out(problems, 0.0, 0) == set()
    assert len(held_out({1, 2, 3}, 0.05, 0)) == 1  # a small run still gets one problem
    assert len(held_out({1, 2}, 0.9, 0)) == 1  # and training keeps one
    assert held_out({4}, 0.05, 0) == set()  # one problem: nothing to hold out
    with pytest.raises(CftError, match="holding out 3 leaves none to train on"):
        held_out({1, 2, 3}, 3, 0)


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "format_critique_data.py"), *map(str, args)],
                          capture_output=True, text=True)


def test_cli_holds_out_whole_problems(tmp_path):
    src = tmp_path / "critique.json"
    rows = rows_of(range(10, 20))
    src.write_bytes(orjson.dumps(rows))
    out = tmp_path / "formatted.json"
    r = run("--critique_file", src, "--output_file", out, "--val_size", 3, "--seed", 7,
            "--summary_json", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    train = orjson.loads(out.read_bytes())
    val = orjson.loads(val_path(out).read_bytes())
    assert val_path(out).name == "formatted_val.json"
    assert pq.read_table(out.with_suffix(".parquet")).to_pylist() == train
    assert pq.read_table(tmp_path / "formatted_val.parquet").to_pylist() == val
    train_problems = {t["extra_info"]["question_index"] for t in train}
    val_problems = {v["extra_info"]["question_index"] for v in val}
    assert len(val_problems) == 3 and val_problems == held_out(set(range(10, 20)), 3, 7)
    assert not train_problems & val_problems and train_problems | val_problems == set(range(10, 20))
    assert len(val) == 12 and len(train) == 28  # every row of a held-out problem, and only those
    assert {t["extra_info"]["split"] for t in train} == {"train"} and {v["extra_info"]["split"] for v in val} == {"val"}
    assert [v["extra_info"]["index"] for v in val] == list(range(12))
    assert [t["prompt"][0]["content"] for t in train] == [c["prompt"] for c in rows if c["index"] not in val_problems]
    assert "held out (validation)" in r.stdout and "3 problems, 12 rows" in r.stdout
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["rows"], summary["val_rows"], summary["val_problems"]) == (28, 12, 3)
    assert summary["outputs"][2:] == [str(val_path(out)), str(tmp_path / "formatted_val.parquet")]

    # the same seed, the same split; an existing _val file is not overwritten without --overwrite
    r = run("--critique_file", src, "--output_file", tmp_path / "again.json", "--val_size", 3, "--seed", 7)
    assert r.returncode == 0 and orjson.loads((tmp_path / "again_val.json").read_bytes()) == val
    out.unlink()
    r = run("--critique_file", src, "--output_file", out, "--val_size", 3)
    assert r.returncode == 1 and "already exists" in r.stderr


def test_cli_refuses_a_split_that_leaves_no_training_rows(tmp_path):
    src = tmp_path / "critique.json"
    src.write_bytes(orjson.dumps(rows_of(range(3))))
    out = tmp_path / "formatted.json"
    r = run("--critique_file", src, "--output_file", out, "--val_size", 3)
    error = r.stderr.strip().splitlines()[-1]  # (after a reader's note on the layout)
    assert r.returncode == 1 and error.startswith("error: --val_size 3: the critique rows hold 3 problems")
    assert not list(tmp_path.glob("formatted*"))


def test_cli_without_a_split(tmp_path):
    src = tmp_path / "critique.json"
    src.write_bytes(orjson.dumps(rows_of(range(5))))
    out = tmp_path / "formatted.json"
    r = run("--critique_file", src, "--output_file", out, "--val_size", 0)
    assert r.returncode == 0, r.stderr
    assert len(orjson.loads(out.read_bytes())) == 20 and not val_path(out).exists()


def test_no_held_out_rows_remove_an_earlier_runs_val_files(tmp_path):
    """Training files never stand beside another run's held-out files: --val_size 0 removes them (with --overwrite)."""
    src = tmp_path / "critique.json"
    src.write_bytes(orjson.dumps(rows_of(range(10))))
    out = tmp_path / "formatted.json"
    assert run("--critique_file", src, "--output_file", out, "--val_size", 2).returncode == 0
    assert val_path(out).exists() and (tmp_path / "formatted_val.parquet").exists()
    out.unlink()
    out.with_suffix(".parquet").unlink()  # the training files gone: the _val files alone still refuse
    r = run("--critique_file", src, "--output_file", out, "--val_size", 0)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == (
        f"error: {val_path(out)}: held-out rows of an earlier run, which would not belong with these "
        "(--val_size 0); pass --overwrite to remove them")
    r = run("--critique_file", src, "--output_file", out, "--val_size", 0, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not val_path(out).exists() and not (tmp_path / "formatted_val.parquet").exists()
    assert len(orjson.loads(out.read_bytes())) == 40 and "removed (an earlier run's)" in r.stdout
