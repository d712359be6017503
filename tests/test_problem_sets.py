"""Problem sets as users keep them (cft.records.problems): a JSON list, JSON Lines, parquet, a dataset folder in
the Hub's layout and a Hub dataset id (read offline from a Hugging Face cache the test writes) give the same
rows through one loader; each has a stable identity for resume checks; rows are checked where they enter."""

import os
import re
import subprocess
import sys

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from helpers import cache_as_hub, write_hub_dataset

from cft.common.errors import CftError
from cft.common.jsonio import sha256_file
from cft.records.problems import (
    MAX_ANSWER_CHARS,
    Source,
    answer_of,
    input_sha256,
    load_problems,
    load_rows,
    parse_source,
    resolve_source,
    to_problem,
    worked_answers,
)

ROWS = [{"problem": f"A shelf holds {n} books and {n + 4} more arrive. How many books are on it?",
         "answer": str(2 * n + 4), "level": n % 3, "prompt": [{"role": "user", "content": f"q{n}"}],
         "reward_model": {"style": "rule", "ground_truth": str(2 * n + 4)}} for n in range(5)]
HUB_ID = "someone/Shelf-Problems"


def offline(hf_home):
    return {"HF_HOME": str(hf_home), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


@pytest.fixture
def forms(tmp_path, monkeypatch):
    """The same rows in every form; the Hub id is read from the cache under tmp_path/hf."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "rows.json").write_bytes(orjson.dumps(ROWS))
    (tmp_path / "rows.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in ROWS) + b"\n\n")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "rows.parquet")
    write_hub_dataset(tmp_path / "folder", {"train": ROWS})
    write_hub_dataset(tmp_path / "two", {"train": ROWS, "test": ROWS[:2]})
    cache_as_hub(tmp_path / "hf", HUB_ID, {"train": ROWS, "test": ROWS[:1]})
    return tmp_path


def in_process_hub(tmp_path, spec):
    """``load_rows(spec)`` in a fresh process under the test's cache (datasets reads HF_HOME at import)."""
    code = ("import sys, orjson; from cft.records.problems import load_rows, input_sha256; "
            "sys.stdout.buffer.write(orjson.dumps([load_rows(sys.argv[1]), input_sha256(sys.argv[1])]))")
    r = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, cwd=ROOT, check=False,
                       env={**os.environ, **offline(tmp_path / "hf")})
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return orjson.loads(r.stdout)


def test_every_form_gives_the_same_rows(forms):
    for spec in ("rows.json", "rows.jsonl", "rows.parquet", "folder", "folder:train", "two:test"):
        rows = load_rows(forms / spec)
        assert rows == (ROWS[:2] if spec == "two:test" else ROWS), spec
    rows, sha = in_process_hub(forms, f"{HUB_ID}:train")
    assert rows == ROWS
    rows, sha_test = in_process_hub(forms, f"{HUB_ID}:test")
    assert rows == ROWS[:1] and sha_test != sha
    assert [p.answer for p in load_problems(forms / "rows.parquet")] == [r["answer"] for r in ROWS]


def test_forms_are_told_apart(tmp_path):
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "d").mkdir()
    assert parse_source(tmp_path / "a.json") == Source("file", str(tmp_path / "a.json"))
    assert parse_source(f"{tmp_path / 'd'}:main:test") == Source("folder", str(tmp_path / "d"), "main", "test")
    assert parse_source("agentica-org/DeepScaleR-Preview-Dataset:train") == \
        Source("hub", "agentica-org/DeepScaleR-Preview-Dataset", None, "train")
    assert parse_source("openai/gsm8k@e53f048:main:test") == Source("hub", "openai/gsm8k", "main", "test", "e53f048")
    assert resolve_source("openai/gsm8k:main:test") == "openai/gsm8k:main:test"
    assert resolve_source(f"{tmp_path / 'd'}:test") == f"{tmp_path / 'd'}:test"
    for missing in ("nowhere/rows.json", "openai/gsm8k", "rows.jsonl"):
        with pytest.raises(CftError, match="file not found .a problem set is a JSON list, .jsonl or .parquet"):
            parse_source(missing)


def test_identity_is_the_file_hash_or_the_datasets(forms):
    assert input_sha256(forms / "rows.json") == sha256_file(forms / "rows.json")
    folder = input_sha256(forms / "folder")
    assert folder == input_sha256(f"{forms / 'folder'}:train")
    code = "import sys; from cft.records.problems import input_sha256; print(input_sha256(sys.argv[1]))"

    def in_another_process(hf_home):
        return subprocess.run([sys.executable, "-c", code, str(forms / "folder")], capture_output=True, text=True,
                              cwd=ROOT, check=True, env={**os.environ, **offline(hf_home)}).stdout.strip()

    assert in_another_process(forms / "hf2") == folder  # another process, another cache: the same identity
    rows = [dict(r) for r in ROWS]
    rows[0]["answer"] = "999"
    write_hub_dataset(forms / "folder", {"train": rows})  # the data changes: so does the identity
    assert in_another_process(forms / "hf2") != folder


def test_a_dataset_that_cannot_be_loaded_is_one_line(forms):
    r = subprocess.run([sys.executable, str(ROOT / "decontaminate.py"), "--input_file", "someone/Not-Cached:train",
                        "--output_file", str(forms / "out.json"), "--eval_sets", "none", "--dedup"],
                       capture_output=True, text=True, cwd=ROOT, check=False,
                       env={**os.environ, **offline(forms / "hf")})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(
        "error: someone/Not-Cached: cannot load this problem set: ConnectionError")
    with pytest.raises(CftError, match="has splits train, test; name one as .*two:SPLIT"):
        load_rows(forms / "two")


def test_step_0_reads_a_hub_dataset_by_id(forms):
    out = forms / "clean.json"
    r = subprocess.run([sys.executable, str(ROOT / "decontaminate.py"), "--input_file", f"{HUB_ID}:train",
                        "--output_file", str(out), "--eval_sets", "none", "--dedup", "--summary_json",
                        str(forms / "s.json")], capture_output=True, text=True, cwd=ROOT, check=False,
                       env={**os.environ, **offline(forms / "hf")})
    assert r.returncode == 0, r.stderr[-2000:]
    assert orjson.loads(out.read_bytes()) == ROWS
    s = orjson.loads((forms / "s.json").read_bytes())
    assert s["input_file"] == f"{HUB_ID}:train" and s["input_sha256"] == in_process_hub(forms, f"{HUB_ID}:train")[1]


def test_rows_are_checked_where_they_enter():
    worked = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=72>>72 clips.\n#### 72"
    assert to_problem({"question": "How many clips?", "answer": worked}, 0).answer == "72"
    assert to_problem({"problem": "q", "answer": "x\n#### 1,250"}, 0).answer == "1250"
    assert to_problem({"problem": "q", "answer": 7}, 0).answer == "7"
    assert to_problem({"problem": "q", "answer": "", "gt_answer": "3"}, 0).answer == "3"  # the first usable one
    assert answer_of({"reward_model": {"ground_truth": "a #### -4"}}) == "-4"
    assert worked_answers([{"answer": worked}, {"answer": "72"}, {"gt_answer": "1 #### 1"}, "x"]) == 2
    for row, message in [
        ({"problem": "q", "answer": ""}, "row 3: the answer (answer) is empty"),
        ({"problem": "q", "reward_model": {"ground_truth": "  "}}, "row 3: the answer (reward_model.ground_truth)"),
        ({"problem": "q", "answer": "steps\n####"}, "a worked solution with nothing after its '####'"),
        ({"problem": "q", "answer": "7" * (MAX_ANSWER_CHARS + 1)}, "1,001 characters, too long to be a final answer"),
        ({"problem": "q", "answer": ["1", "2"]}, "the answer (answer) is a list, not a text or a number"),
        ({"problem": "q"}, "row 3: no answer"),
        ({"answer": "1"}, "row 3: no question"),
    ]:
        with pytest.raises(CftError, match=re.escape(message)):
            to_problem(row, 3, "in.json")
    assert len(to_problem({"problem": "q", "answer": "7" * MAX_ANSWER_CHARS}, 0).answer) == MAX_ANSWER_CHARS
