"""Step 0: decontamination against the evaluation sets by name (read offline from a Hugging Face cache the
test writes, or from local copies in the Hub's layout), --against sets, --skip_unavailable, --dedup, the
demo's own evaluation set, and bad input. Every problem here was written for these tests."""

import os
import subprocess
import sys

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from helpers import EVAL_PROBLEMS, cache_as_hub, write_hub_dataset

from cft.curate.decontaminate import find_duplicates
from cft.curate.eval_sets.registry import REGISTRY
from cft.curate.normalize import normalize_problem
from cft.fixtures.demo_eval import pick
from cft.fixtures.demo_eval import write as write_demo_eval

SEQUENCE = EVAL_PROBLEMS[0][0]  # 'Consider the arithmetic sequence $\frac{7}{2}, 5, \frac{13}{2}, \ldots$. ...'
# the same problem, typed differently: spaces, no $, \dfrac, braces, case
RESPELLED = ("consider the  arithmetic sequence \\dfrac{7}{2} , 5,\\dfrac {13}{2},  \\ldots .  What is its "
             "TWELFTH term?   Express your answer in simplest form. ")
# the same topic (an arithmetic sequence), another problem
SAME_TOPIC = "The first term of an arithmetic sequence is $2$ and its common difference is $3$. What is its fifth term?"
LONG = ("A rectangular garden is 12 meters long and 7 meters wide. A path of uniform width is built around "
        "the garden, and the area of the path is 60 square meters. What is the width of the path, in meters?")
EVAL_ROWS = [{"problem": p, "answer": a, "level": k % 5} for k, (p, a) in enumerate(EVAL_PROBLEMS)]
NAMES = list(REGISTRY)


def offline_env(hf_home):
    return {**os.environ, "HF_HOME": str(hf_home), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def run(tmp_path, rows, *extra, name="train.json", hf_home=None):
    inp = tmp_path / name
    if rows is not None:
        inp.write_bytes(orjson.dumps(rows))
    out = tmp_path / "clean.json"
    r = subprocess.run([sys.executable, str(ROOT / "decontaminate.py"), "--input_file", str(inp),
                        "--output_file", str(out), "--summary_json", str(tmp_path / "summary.json"), *extra],
                       capture_output=True, text=True, check=False, env=offline_env(hf_home or tmp_path / "hf"))
    return r, out, tmp_path / "clean_removed.json"


def printed(stdout: str, label: str) -> str:
    """The value of the summary line ``label``."""
    [value] = [line.split(" : ", 1)[1] for line in stdout.splitlines() if line.split(" : ", 1)[0].strip() == label]
    return value


def summary_of(tmp_path):
    return orjson.loads((tmp_path / "summary.json").read_bytes())


@pytest.fixture(scope="module")
def math500_copy(tmp_path_factory):
    """A local copy of the registered set math500 in the Hub's layout (our problems, MATH-500's fields)."""
    return write_hub_dataset(tmp_path_factory.mktemp("eval") / "math500", {"test": EVAL_ROWS})


def test_normalisation_removes_spelling_only():
    assert normalize_problem(RESPELLED) == normalize_problem(SEQUENCE)
    assert normalize_problem(r"Find $\left( x+1 \right)^{2}$ if $x\leq 3$.") == \
        normalize_problem(r"find (x + 1)^2 if \(x \le 3\).")
    assert normalize_problem("What is 2 + 9?") != normalize_problem("What is 2 + 6?")


def test_registry_names_the_eight_sets_with_their_fields():
    assert NAMES == ["math500", "aime24", "aime25", "amc23", "minerva", "olympiadbench", "gsm8k", "processbench"]
    for spec in REGISTRY.values():
        assert spec.card == f"https://huggingface.co/datasets/{spec.hub_id}" and spec.splits and spec.problem_field
    assert REGISTRY["processbench"].answer_field is None and len(REGISTRY["processbench"].splits) == 4


def test_a_set_by_name_is_read_from_the_users_cache(tmp_path):
    """The default path: datasets.load_dataset by Hub id, offline, from HF_HOME's cache."""
    hf_home = tmp_path / "hf"
    cache_as_hub(hf_home, "HuggingFaceH4/MATH-500", {"test": EVAL_ROWS})
    rows = [{"problem": SAME_TOPIC, "answer": "14", "extra": [1, {"a": None}]},
            {"problem": RESPELLED, "answer": "20", "level": 3},
            {"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows, "--eval_sets", "math500", hf_home=hf_home)
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[0], rows[2]]  # rows unchanged, order kept
    [removed] = orjson.loads(report.read_bytes())
    assert removed["index"] == 1 and removed["reason"] == "contaminated"
    assert removed["match"] == SEQUENCE and removed["match_source"] == "math500"
    assert removed["match_index"] == 0 and removed["score"] >= 95 and removed["method"] == "fuzz"
    s = summary_of(tmp_path)
    assert s["contaminated"] == {"math500": 1} and s["kept"] == 2 and s["removed"] == 1
    assert s["eval_sets"] == {"math500": 6}
    detail = s["eval_set_details"]["math500"]
    assert detail["source"] == "HuggingFaceH4/MATH-500" and detail["rows"] == 6 and detail["splits"] == ["test"]
    assert len(detail["problems_sha256"]) == 64
    assert s["not_checked"] == {n: "left out of --eval_sets" for n in NAMES if n != "math500"}
    assert printed(r.stdout, "removed: matches math500").startswith("1 (33.3%)")
    assert printed(r.stdout, "not checked against") == \
        "aime24, aime25, amc23, minerva, olympiadbench, gsm8k, processbench (left out of --eval_sets)"


def test_a_set_that_cannot_be_loaded_stops_step_0_in_one_line(tmp_path):
    hf_home = tmp_path / "hf"
    cache_as_hub(hf_home, "HuggingFaceH4/MATH-500", {"test": EVAL_ROWS})
    rows = [{"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows, "--eval_sets", "math500", "aime24", hf_home=hf_home)
    lines = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith("error: evaluation set aime24 (HuggingFaceH4/aime_2024) cannot be loaded: ")
    assert "--against aime24=PATH" in lines[0] and "--skip_unavailable" in lines[0]
    assert not out.exists() and not report.exists()
    # the default is every set: offline with an empty cache, the first stops it
    r, out, _ = run(tmp_path, rows, hf_home=tmp_path / "empty")
    assert r.returncode == 1 and "error: evaluation set math500 (HuggingFaceH4/MATH-500) cannot be loaded" in r.stderr
    assert not out.exists()


def test_skip_unavailable_goes_on_and_says_what_was_not_checked(tmp_path, math500_copy):
    rows = [{"problem": RESPELLED, "answer": "20"}, {"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows, "--against", f"math500={math500_copy}", "--skip_unavailable")
    assert r.returncode == 0, r.stderr
    assert [x["match_source"] for x in orjson.loads(report.read_bytes())] == ["math500"]
    s = summary_of(tmp_path)
    assert list(s["eval_sets"]) == ["math500"] and s["eval_set_details"]["math500"]["source"] == str(math500_copy)
    assert list(s["not_checked"]) == NAMES[1:]
    assert all(why.startswith("cannot be loaded: ") for why in s["not_checked"].values())
    assert ["step 0 not checked against", ", ".join(NAMES[1:])] in s["headline"]
    assert printed(r.stdout, "not checked against") == f"{', '.join(NAMES[1:])} (cannot be loaded)"
    assert r.stderr.count("not checked against it (--skip_unavailable)") == 7


def test_a_local_copy_must_have_the_registrys_fields(tmp_path):
    minerva = write_hub_dataset(tmp_path / "minerva", {"test": [{"problem": SEQUENCE, "answer": "20"}]})
    r, out, _ = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--eval_sets", "none",
                    "--against", f"minerva={minerva}")
    assert r.returncode == 1 and not out.exists()
    assert f"error: evaluation set minerva ({minerva}): no field 'question' (the registry reads its problem from " \
           "'question'; this copy has problem, answer)" in r.stderr
    gsm = tmp_path / "gsm8k.jsonl"
    gsm.write_text('{"question": "Tom reads 12 pages a day for 9 days. How many pages?"}\n')
    r, out, _ = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--eval_sets", "none", "--against", f"gsm8k={gsm}")
    assert r.returncode == 1 and "evaluation set gsm8k" in r.stderr and "no field 'answer'" in r.stderr
    olympiad = write_hub_dataset(tmp_path / "olympiad", {"train": [{"question": SEQUENCE, "final_answer": ["20"]}]},
                                 config="OE_TO_maths_en_COMP")
    r, out, report = run(tmp_path, [{"problem": RESPELLED, "answer": "20"}, {"problem": LONG, "answer": "2"}],
                         "--eval_sets", "none", "--against", f"olympiadbench={olympiad}")
    assert r.returncode == 0, r.stderr
    assert [x["match_source"] for x in orjson.loads(report.read_bytes())] == ["olympiadbench"]
    assert summary_of(tmp_path)["eval_set_details"]["olympiadbench"]["config"] == "OE_TO_maths_en_COMP"


def test_sets_sharing_a_problem_count_it_once_for_the_first(tmp_path, math500_copy):
    bench = write_hub_dataset(tmp_path / "processbench", {
        split: [{"id": f"{split}-0", "problem": EVAL_PROBLEMS[k][0], "steps": ["x"], "label": -1}]
        for k, split in enumerate(REGISTRY["processbench"].splits)})
    rows = [{"problem": RESPELLED, "answer": "20"}, {"problem": EVAL_PROBLEMS[3][0], "answer": "41"},
            {"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--against", f"math500={math500_copy}",
                         f"processbench={bench}")
    assert r.returncode == 0, r.stderr
    assert [x["match_source"] for x in orjson.loads(report.read_bytes())] == ["math500", "math500"]
    s = summary_of(tmp_path)
    assert s["contaminated"] == {"math500": 2, "processbench": 0} and s["eval_sets"]["processbench"] == 4


def test_copy_inside_a_prompt_is_caught_by_the_ngram_check(tmp_path, math500_copy):
    prompt = (f"<|im_start|>user\n{EVAL_PROBLEMS[5][0]}\nPlease reason step by step, and put your final "
              "answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n")
    rows = [{"prompt": [{"role": "user", "content": prompt}], "reward_model": {"ground_truth": "16"}},
            {"problem": LONG, "answer": "2"}]
    against = ["--eval_sets", "none", "--against", f"math500={math500_copy}"]
    r, out, report = run(tmp_path, rows, *against)
    assert r.returncode == 0, r.stderr
    [removed] = orjson.loads(report.read_bytes())
    assert removed["index"] == 0 and removed["method"] == "ngram" and removed["match_index"] == 5
    r, out, report = run(tmp_path, rows, *against, "--ngram", "0", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert len(orjson.loads(out.read_bytes())) == 2  # fuzz.ratio alone misses it


def test_against_jsonl_parquet_and_folder_sets(tmp_path, math500_copy):
    aime = tmp_path / "aime24.jsonl"
    aime.write_text('{"problem": "Find the number of positive integers n below 1000 with n^2 ending in 44."}\n\n'
                    '{"question": "Every morning Ada jogs 5 km and then stops at a bakery."}\n')
    amc = tmp_path / "amc.parquet"
    pq.write_table(pa.table({"prompt": [[{"role": "user", "content": LONG}]], "id": [7]}), amc)
    mine = write_hub_dataset(tmp_path / "mine", {"test": [{"question": SAME_TOPIC}], "train": [{"question": "x"}]})
    rows = [{"problem": "every morning ada jogs 5 km, and then stops at a bakery.", "answer": "1"},
            {"problem": LONG, "answer": "2"}, {"problem": SAME_TOPIC, "answer": "14"},
            {"problem": SEQUENCE, "answer": "20"}, {"problem": "What is 2 + 2?", "answer": "4"}]
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--against", f"math500={math500_copy}", str(aime),
                         str(amc), str(mine))
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[4]]
    removed = orjson.loads(report.read_bytes())
    assert [(x["index"], x["match_source"], x["match_index"]) for x in removed] == \
        [(0, "aime24", 1), (1, "amc", 0), (2, "mine", 0), (3, "math500", 0)]
    s = summary_of(tmp_path)
    assert s["contaminated"] == {"math500": 1, "aime24": 1, "amc": 1, "mine": 1}
    assert s["eval_sets"] == {"math500": 6, "aime24": 2, "amc": 1, "mine": 2}
    assert "aime24" in s["not_checked"]  # a file named aime24 is a set of one's own, not the registered one
    # an unnamed local set alone
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--against", str(aime), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [x["index"] for x in orjson.loads(report.read_bytes())] == [0]


def test_source_index_field_keeps_the_original_positions(tmp_path, math500_copy):
    rows = [{"problem": RESPELLED, "answer": "1"}, {"problem": SAME_TOPIC, "answer": "14"},
            {"problem": LONG, "answer": "2"}]
    r, out, _ = run(tmp_path, rows, "--eval_sets", "none", "--against", f"math500={math500_copy}",
                    "--source_index_field", "source_index")
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [{**rows[1], "source_index": 1}, {**rows[2], "source_index": 2}]


def test_dedup_keeps_the_first_and_reports_each_pair(tmp_path):
    variant = LONG.replace("60 square", "68 square")  # other numbers, other answer: another problem
    near = LONG.replace("built around the garden", "built around garden")  # one word dropped
    rows = [{"problem": LONG, "answer": "2"}, {"problem": SAME_TOPIC, "answer": "14"},
            {"problem": LONG, "answer": "2", "id": "copy"},
            {"problem": LONG.replace(" 12 meters", " $12$  meters").upper(), "answer": "2"},
            {"problem": near, "answer": "2"}, {"problem": variant, "answer": "2.2"},
            {"problem": SAME_TOPIC, "answer": "14"}]
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--dedup")
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[0], rows[1], rows[5]]
    removed = orjson.loads(report.read_bytes())
    assert [(x["index"], x["match_index"], x["method"]) for x in removed] == \
        [(2, 0, "exact"), (3, 0, "exact"), (4, 0, "minhash"), (6, 1, "exact")]
    assert all(x["reason"] == "duplicate" and x["match_source"] == "input" for x in removed)
    assert removed[2]["match"] == LONG and 95 <= removed[2]["score"] < 100
    s = summary_of(tmp_path)
    assert s["duplicates"] == 4 and s["methods"] == {"exact": 3, "minhash": 1}
    assert s["eval_sets"] == {} and list(s["not_checked"]) == NAMES
    assert "removed: duplicates" in r.stdout


def test_near_duplicate_with_another_answer_is_kept():
    texts = [normalize_problem(LONG), normalize_problem(LONG.replace("built around the garden", "built around garden"))]
    assert find_duplicates(texts, ["2", "3"], progress=False) == []
    [dup] = find_duplicates(texts, ["2", "2"], progress=False)
    assert (dup.index, dup.match_index, dup.method) == (1, 0, "minhash")


def test_the_demos_own_set_removes_its_copies_offline(tmp_path):
    """The demo's evaluation file (cft.fixtures.demo_eval): a few of the shipped sample's problems respelled;
    step 0 removes those rows and their duplicates, and says which named sets it did not check."""
    sample = ROOT / "cft_data" / "deepscaler_train.json"
    rows = orjson.loads(sample.read_bytes())
    evals = tmp_path / "demo_eval.jsonl"
    r = subprocess.run([sys.executable, "-m", "cft.fixtures.demo_eval", str(evals), str(sample)],
                       capture_output=True, text=True, check=False, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    written = [orjson.loads(line) for line in evals.read_bytes().splitlines()]
    picked = pick(rows, 3)
    assert [w["source_index"] for w in written] == [i for i, _, _ in picked] and len(written) == 3
    assert all(w["problem"] != rows[w["source_index"]]["problem"] for w in written)  # respelled, not copied
    copies = {normalize_problem(q) for _, q, _ in picked}
    expected = [i for i, row in enumerate(rows) if normalize_problem(row["problem"]) in copies]
    assert len(expected) > 3  # a picked problem has a duplicate in the sample
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--against", str(evals))
    assert r.returncode == 0, r.stderr
    assert [x["index"] for x in orjson.loads(report.read_bytes())] == expected
    assert orjson.loads(out.read_bytes()) == [row for i, row in enumerate(rows) if i not in expected]
    s = summary_of(tmp_path)
    assert s["contaminated"] == {"demo_eval": len(expected)} and list(s["not_checked"]) == NAMES
    assert ["step 0 not checked against", ", ".join(NAMES)] in s["headline"]
    # the same file again: the same rows (the fixture is deterministic)
    write_demo_eval(tmp_path / "again.jsonl", sample)
    assert (tmp_path / "again.jsonl").read_bytes() == evals.read_bytes()
    # and --dedup on the sample finds its repeated drills
    r, out, report = run(tmp_path, rows, "--eval_sets", "none", "--dedup", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [(x["index"], x["match_index"]) for x in orjson.loads(report.read_bytes())] == [(11, 8), (12, 9), (30, 29)]


@pytest.mark.parametrize("name", ["in.jsonl", "in.parquet", "folder"])
def test_input_as_jsonl_parquet_or_dataset_folder(tmp_path, math500_copy, name):
    rows = [{"problem": RESPELLED, "answer": "20"}, {"problem": LONG, "answer": "2"}]
    inp = tmp_path / name
    if name.endswith(".jsonl"):
        inp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    elif name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(rows), inp)
    else:
        write_hub_dataset(inp, {"train": rows})
    r, out, report = run(tmp_path, None, "--eval_sets", "none", "--against", f"math500={math500_copy}", name=name)
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[1]]
    assert [x["index"] for x in orjson.loads(report.read_bytes())] == [0]
    assert len(summary_of(tmp_path)["input_sha256"]) == 64


def test_input_rows_are_checked_before_any_set_is_loaded(tmp_path):
    """An empty or too long answer stops step 0 naming the row, before the (unreachable) sets are tried."""
    worked = "Tom reads 12 pages a day for 9 days: 12*9 = <<12*9=108>>108 pages.\n#### 108"
    for rows, message in [
        ([{"problem": LONG, "answer": "2"}, {"problem": SAME_TOPIC, "answer": "  "}],
         "train.json: row 1: the answer (answer) is empty"),
        ([{"problem": LONG, "answer": "x" * 2_000_000}], "train.json: row 0: the answer (answer) is 2,000,000 "
         "characters, too long to be a final answer"),
        ([{"problem": LONG}], "train.json: row 0: no answer"),
        ([{"problem": LONG, "answer": "2"}, {"answer": "3", "id": 9}], "train.json: row 1: no question"),
        ([{"problem": LONG, "answer": "Adding up.\n####  "}], "row 0: the answer (answer) is a worked solution with "
         "nothing after its '####'"),
    ]:
        r, out, _ = run(tmp_path, rows)
        lines = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        assert r.returncode == 1 and len(lines) == 1 and message in lines[0], r.stderr
        assert "evaluation set" not in r.stderr and not out.exists()
    r, out, _ = run(tmp_path, [{"problem": "Tom reads 12 pages a day for 9 days. How many pages?", "answer": worked},
                               {"problem": LONG, "answer": "2"}], "--eval_sets", "none", "--dedup")
    assert r.returncode == 0, r.stderr
    assert summary_of(tmp_path)["worked_answers"] == 1 and printed(r.stdout, "answers read after '####'")[0] == "1"


@pytest.mark.parametrize("content, message", [
    (b'{"problem": "a"}\n{"problem": \n', "aime.jsonl: line 2: not valid JSON"),
    (b'{"problem": "a"}\n\n{"answer": "3"}\n', "aime.jsonl: row 1 (line 3): no problem (looked for question"),
    (b'{"problem": "a"}\n[1, 2]\n', "aime.jsonl: row 1 (line 2): expected an object, got list"),
    (b"", "aime.jsonl: no problems in this evaluation set"),
])
def test_bad_eval_set_names_file_and_row(tmp_path, content, message):
    (tmp_path / "aime.jsonl").write_bytes(content)
    r, out, report = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--eval_sets", "none",
                         "--against", str(tmp_path / "aime.jsonl"))
    assert r.returncode == 1 and message in r.stderr and r.stderr.startswith("error: ")
    assert "Traceback" not in r.stderr and not out.exists() and not report.exists()


def test_bad_parquet_flags_and_every_row_removed(tmp_path, math500_copy):
    ok = [{"problem": LONG, "answer": "2"}]
    bad = tmp_path / "amc.parquet"
    pq.write_table(pa.table({"problem": ["a", None], "id": [1, 2]}), bad)
    r, out, _ = run(tmp_path, ok, "--eval_sets", "none", "--against", str(bad))
    assert r.returncode == 1 and "amc.parquet: row 1: no problem" in r.stderr and not out.exists()
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    r, out, _ = run(tmp_path, ok, "--eval_sets", "none", "--against", str(tmp_path / "broken.parquet"))
    assert r.returncode == 1 and "broken.parquet: not a readable parquet file" in r.stderr
    r, out, _ = run(tmp_path, ok, "--eval_sets", "none", "--against", str(tmp_path / "missing.json"))
    assert r.returncode == 1 and "missing.json: file not found" in r.stderr
    r, out, _ = run(tmp_path, [{"problem": SEQUENCE, "answer": "3"}], "--eval_sets", "none",
                    "--against", f"math500={math500_copy}")
    assert r.returncode == 1 and "every one of its 1 problems would be removed" in r.stderr and not out.exists()
    for flags, message in [(["--threshold", "120"], "--threshold"),
                           (["--eval_sets", "none"], "nothing to do: --eval_sets none without --against or --dedup"),
                           (["--eval_sets", "math5000"], "--eval_sets: no evaluation set named math5000 (known: "
                                                         "math500, aime24"),
                           (["--eval_sets", "none", "gsm8k"], "--eval_sets none goes alone")]:
        r, out, _ = run(tmp_path, ok, *flags)
        assert r.returncode == 1 and message in r.stderr, (flags, r.stderr)
