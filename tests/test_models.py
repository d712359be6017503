"""Models are data: the two built in, and any number more registered from the command line, through
merge, filter and critique (a third model once raised KeyError)."""

import subprocess
import sys

import orjson
import pytest
from conftest import ROOT
from helpers import write_chunks, write_input

from cft.common.errors import CftError
from cft.records.models import MODELS, find_model, parse_spec, register

SPEC = "name=r1-distill-1.5b,alias=r1d,weights=/models/R1-Distill,template=qwen3-base-chat,max_tokens=2048"


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True, text=True)


def test_parse_and_register():
    spec = parse_spec(SPEC)
    assert (spec.name, spec.alias, spec.weights, spec.prompt_template, spec.max_model_len, spec.max_tokens) == \
        ("r1-distill-1.5b", "r1d", "/models/R1-Distill", "qwen3-base-chat", None, 2048)
    for bad, message in [("name=x,alias=y", "missing weights, template"), ("name=x,colour=red", "KEY=VALUE"),
                         ("name=x,alias=y,weights=w,template=nope", "unknown prompt template"),
                         ("name=x,alias=qwen25,weights=w,template=fewshot-boxed", "clashes with"),
                         ("name=a/b,alias=y,weights=w,template=fewshot-boxed", "letters, digits"),
                         ("name=x,alias=y,weights=w,template=fewshot-boxed,max_tokens=many", "whole number")]:
        with pytest.raises(CftError, match=message):
            register(parse_spec(bad))
    assert "x" not in MODELS and find_model("y") is None


def test_three_models_through_merge_filter_and_critique(tmp_path):
    inp = tmp_path / "in.json"
    write_input(inp, 8)
    counts = {"qwen-2.5-math-7b": [0, 4, 0, 4, 2, 0, 4, 1], "qwen3-4b-base": [0, 4, 0, 4, 0, 4, 4, 3],
              "r1-distill-1.5b": [0, 4, 3, 0, 1, 0, 4, 2]}
    if find_model("r1d") is None:
        register(parse_spec(SPEC))  # (the test process's own registry, for the chunk builder)
    dirs = {}
    for model, per_problem in counts.items():
        alias = find_model(model).alias
        dirs[alias] = tmp_path / f"solutions_{alias}"
        write_chunks(dirs[alias], model, inp, per_problem)
    # the merge finds the unregistered third model by its chunk files' names
    r = run("merge_solutions.py", "--chunk_dir", *(f"{a}={d}" for a, d in dirs.items()), "--output_dir", tmp_path,
            "--input_file", inp, "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "== merged r1-distill-1.5b ==" in r.stdout and (tmp_path / "deepscaler_r1d_solutions.json").exists()
    files = [f"{a}={tmp_path / f'deepscaler_{a}_solutions.json'}" for a in dirs]
    out = tmp_path / "filtered.json"
    r = run("filter_solutions.py", "--solutions", *files, "--original_file", inp, "--output_file", out,
            "--summary_json", tmp_path / "f.json")
    assert r.returncode == 0, r.stderr
    rows = orjson.loads(out.read_bytes())
    # removed: problem 0 (every model all wrong), 1 and 6 (every model all right); 3 has qwen25 and qwen3 all
    # right but r1d all wrong: kept, as is every problem with a model in between
    assert [row["index"] for row in rows] == [2, 3, 4, 5, 7]
    summary = orjson.loads((tmp_path / "f.json").read_bytes())
    assert summary["removed"] == {"all_wrong": 1, "all_correct": 2} and summary["models"] == ["qwen25", "qwen3", "r1d"]
    assert rows[1]["r1d_all_wrong"] and rows[1]["qwen25_all_correct"] and rows[0]["r1d_num_correct"] == 3
    crit = tmp_path / "critique.json"
    r = run("generate_critique_data.py", "--filtered_file", out, "--output_file", crit, "--max_samples_per_question",
            "6", "--register_model", SPEC)
    assert r.returncode == 0, r.stderr
    sources = {row["source_model"] for row in orjson.loads(crit.read_bytes())}
    assert sources == {"qwen-2.5-math-7b", "qwen3-4b-base", "r1-distill-1.5b"}
    # without the spec, a reader names the model by its alias
    r = run("generate_critique_data.py", "--filtered_file", out, "--output_file", crit, "--max_samples_per_question",
            "6", "--overwrite")
    assert r.returncode == 0 and "r1d" in {row["source_model"] for row in orjson.loads(crit.read_bytes())}


def test_a_registered_model_plans_with_its_own_defaults(tiny_model, tmp_path):
    inp = tmp_path / "in.json"
    write_input(inp, 3)
    spec = f"name=tiny-chat,alias=tiny,weights={tiny_model},template=fewshot-boxed,max_tokens=32"
    r = run("generate_solutions.py", "--register_model", spec, "--model", "tiny", "--input_file", inp,
            "--chunk_size", "2", "--dry_run")
    assert r.returncode == 0, r.stderr
    assert "tiny-chat: 3 problems, 2 chunks of 2" in r.stdout and "max_tokens 32" in r.stdout
    assert f"output dir            : {ROOT / 'cft_data' / 'solutions_tiny'}" in r.stdout
    r = run("generate_solutions.py", "--model", "tiny", "--input_file", inp, "--dry_run")
    assert r.returncode == 1 and "unknown model 'tiny'" in r.stderr and "--register_model" in r.stderr
    r = subprocess.run([sys.executable, "-m", "cft.pipeline", "model", "tiny", "--register_model", spec],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.split() == ["tiny-chat", "tiny"]
