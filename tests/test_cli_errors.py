"""Bad input to any script: one line on stderr naming file and row, exit 1, no output file."""

import subprocess
import sys

import orjson
import pytest
from conftest import ROOT

SCRIPTS = {
    "merge": ("merge_solutions.py", "--qwen25_dir", "--output_dir"),
    "filter": ("filter_solutions.py", "--original_file", "--output_file"),
    "critique": ("generate_critique_data.py", "--filtered_file", "--output_file"),
    "format": ("format_critique_data.py", "--critique_file", "--output_file"),
}


def run(script, *args, cwd=None):
    import os

    env = {**os.environ, "COLUMNS": "10000"}  # --help unwrapped: argparse would break a path at a '-'
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def assert_one_line_error(r, *needles):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    # one error line; a reader's "note:" that it parses a file of another layout whole may come first
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("name", ["critique", "format"])
@pytest.mark.parametrize("content, needle", [
    (b"this is not json", "not valid JSON"),
    (b"[]", "is empty"),
    (b'[{"index": 0, "question"', "not valid JSON"),
])
def test_bad_json_input(tmp_path, name, content, needle):
    script, in_flag, out_flag = SCRIPTS[name]
    src = tmp_path / "in.json"
    src.write_bytes(content)
    out = tmp_path / "out.json"
    r = run(script, in_flag, str(src), out_flag, str(out))
    assert_one_line_error(r, str(src), needle)
    assert not out.exists()


def test_missing_file(tmp_path):
    script, in_flag, out_flag = SCRIPTS["critique"]
    r = run(script, in_flag, str(tmp_path / "nope.json"), out_flag, str(tmp_path / "o.json"))
    assert_one_line_error(r, "nope.json", "file not found")


def test_filter_names_bad_original_row(tmp_path):
    from helpers import write_chunks, write_input

    from cft.curate.merge import merge_chunks

    inp = tmp_path / "in.json"
    write_input(inp, 4)
    for model, alias in (("qwen-2.5-math-7b", "qwen25"), ("qwen3-4b-base", "qwen3")):
        write_chunks(tmp_path / alias, model, inp, [1, 2, 0, 4])
        merge_chunks(tmp_path / alias, model, tmp_path / f"{alias}.json", progress=False)
    rows = orjson.loads(inp.read_bytes())
    del rows[2]["answer"]
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(rows))
    out = tmp_path / "f.json"
    r = run("filter_solutions.py", "--qwen25_file", str(tmp_path / "qwen25.json"), "--qwen3_file",
            str(tmp_path / "qwen3.json"), "--original_file", str(bad), "--output_file", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "another input" in r.stderr or "row 2: no answer" in r.stderr
    assert not out.exists()


def test_format_names_bad_row(tmp_path):
    src = tmp_path / "c.json"
    src.write_bytes(orjson.dumps([{"index": 0, "question": "q", "solution": "s", "ground_truth": "1",
                                   "target": "right", "prompt": "p", "source_model": "m"}, {"index": 1}]))
    out = tmp_path / "f.json"
    r = run("format_critique_data.py", "--critique_file", str(src), "--output_file", str(out))
    assert_one_line_error(r, "critique row 1: missing")
    assert not out.exists() and not out.with_suffix(".parquet").exists()


def test_merge_empty_folder(tmp_path):
    r = run("merge_solutions.py", "--qwen25_dir", str(tmp_path), "--output_dir", str(tmp_path),
            "--models", "qwen25")
    assert_one_line_error(r, str(tmp_path), "no chunk files of model qwen-2.5-math-7b")


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_defaults_resolve_beside_the_scripts(tmp_path, name):
    r = run(SCRIPTS[name][0], "--help", cwd=tmp_path)
    assert r.returncode == 0
    assert f"(default: {ROOT / 'cft_data'}" in " ".join(r.stdout.split())


def _offline_env():
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home"}


@pytest.mark.parametrize("rows, flags, needle", [
    ([{"problem": "a", "answer": "1"}, {"problem": "b", "answer": "2"}, {"problem": "c"}], [], "row 2: no answer"),
    ([{"problem": "a", "answer": "1"}] * 4, ["--chunk_id", "99"], "chunk id 99 is out of range"),
])
def test_generation_checks_rows_and_chunk_ids_before_the_model(tmp_path, rows, flags, needle):
    """A hub id that cannot be reached (no network, or a typo) is looked up only after the local checks."""
    inp = tmp_path / "rows.json"
    inp.write_bytes(orjson.dumps(rows))
    r = subprocess.run([sys.executable, str(ROOT / "generate_solutions.py"), "--model", "qwen-2.5-math-7b",
                        "--input_file", str(inp), "--chunk_size", "2", "--output_dir", str(tmp_path / "out"),
                        *flags], capture_output=True, text=True, env=_offline_env())
    assert_one_line_error(r, needle)
    assert "config" not in r.stderr and not (tmp_path / "out").exists()


def test_an_unreachable_model_is_one_line(tmp_path):
    """The checks pass; then the model's config cannot be read: transformers' multi-line message, folded."""
    inp = tmp_path / "rows.json"
    inp.write_bytes(orjson.dumps([{"problem": "a", "answer": "1"}]))
    r = subprocess.run([sys.executable, str(ROOT / "generate_solutions.py"), "--model", "qwen25",
                        "--model_path", "no-such-org/no-such-model", "--input_file", str(inp),
                        "--output_dir", str(tmp_path / "out")], capture_output=True, text=True, env=_offline_env())
    assert_one_line_error(r, "cannot load the config of 'no-such-org/no-such-model'")


def test_fold_joins_lines():
    from cft.common.cli import fold

    assert fold("cannot load x: We couldn't connect.\nCheck your connection\r\n  or go offline.\n") == \
        "cannot load x: We couldn't connect. Check your connection or go offline."
