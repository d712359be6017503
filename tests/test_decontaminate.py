"""Step 0: decontamination against the shipped MATH-500 and --against sets, --dedup, and bad input."""

import subprocess
import sys

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from cft.curate.decontaminate import find_duplicates
from cft.curate.eval_sets import MATH500 as MATH500_FILE
from cft.curate.normalize import normalize_problem

MATH500 = [orjson.loads(line) for line in MATH500_FILE.read_bytes().splitlines()]
GEOMETRIC = MATH500[33]["problem"]  # 'Consider the geometric sequence $\frac{125}{9}, \frac{25}{3}, 5, 3, \ldots$. ...'
# the same problem, typed differently: spaces, no $, \dfrac, braces, case
RESPELLED = ("consider the  geometric sequence \\dfrac{125}{9} ,\\dfrac {25}{3},5 ,  3, \\ldots .  What is the "
             "eighth term of the sequence?   Express your answer as a common fraction. ")
# the same topic (a geometric sequence), another problem
SAME_TOPIC = "The first term of a geometric sequence is $2$ and its common ratio is $3$. What is its fifth term?"
LONG = ("A rectangular garden is 12 meters long and 7 meters wide. A path of uniform width is built around "
        "the garden, and the area of the path is 60 square meters. What is the width of the path, in meters?")


def run(tmp_path, rows, *extra, name="train.json"):
    inp = tmp_path / name
    inp.write_bytes(orjson.dumps(rows))
    out = tmp_path / "clean.json"
    r = subprocess.run([sys.executable, str(ROOT / "decontaminate.py"), "--input_file", str(inp),
                        "--output_file", str(out), "--summary_json", str(tmp_path / "summary.json"), *extra],
                       capture_output=True, text=True, check=False)
    return r, out, tmp_path / "clean_removed.json"


def test_normalisation_removes_spelling_only():
    assert normalize_problem(RESPELLED) == normalize_problem(GEOMETRIC)
    assert normalize_problem(r"Find $\left( x+1 \right)^{2}$ if $x\leq 3$.") == \
        normalize_problem(r"find (x + 1)^2 if \(x \le 3\).")
    assert normalize_problem("What is 2 + 9?") != normalize_problem("What is 2 + 6?")


def test_respelled_eval_problem_is_removed_same_topic_is_kept(tmp_path):
    rows = [{"problem": SAME_TOPIC, "answer": "162", "extra": [1, {"a": None}]},
            {"problem": RESPELLED, "answer": "\\frac{243}{625}", "level": 3},
            {"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows)
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[0], rows[2]]  # rows unchanged, order kept
    removed = orjson.loads(report.read_bytes())
    assert len(removed) == 1
    assert removed[0]["index"] == 1 and removed[0]["reason"] == "contaminated"
    assert removed[0]["match"] == GEOMETRIC and removed[0]["match_source"] == "math500"
    assert removed[0]["match_index"] == 33 and removed[0]["score"] >= 95 and removed[0]["method"] == "fuzz"
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary["contaminated"] == {"math500": 1} and summary["kept"] == 2 and summary["removed"] == 1
    assert "removed: matches math500 : 1 (33.3%)" in r.stdout


def test_copy_inside_a_prompt_is_caught_by_the_ngram_check(tmp_path):
    prompt = (f"<|im_start|>user\n{MATH500[0]['problem']}\nPlease reason step by step, and put your final "
              "answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n")
    rows = [{"prompt": [{"role": "user", "content": prompt}], "reward_model": {"ground_truth": "x"}},
            {"problem": LONG, "answer": "2"}]
    r, out, report = run(tmp_path, rows)
    assert r.returncode == 0, r.stderr
    [removed] = orjson.loads(report.read_bytes())
    assert removed["index"] == 0 and removed["method"] == "ngram" and removed["match_index"] == 0
    r, out, report = run(tmp_path, rows, "--ngram", "0", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert len(orjson.loads(out.read_bytes())) == 2  # fuzz.ratio alone misses it


def test_against_jsonl_and_parquet_sets(tmp_path):
    aime = tmp_path / "aime24.jsonl"
    aime.write_text('{"problem": "Find the number of positive integers n below 1000 with n^2 ending in 44."}\n\n'
                    '{"question": "Every morning Aya goes for a 9 km walk and stops at a coffee shop."}\n')
    amc = tmp_path / "amc.parquet"
    pq.write_table(pa.table({"prompt": [[{"role": "user", "content": LONG}]], "id": [7]}), amc)
    rows = [{"problem": "every morning aya goes for a 9 km walk, and stops at a coffee shop.", "answer": "1"},
            {"problem": LONG, "answer": "2"}, {"problem": SAME_TOPIC, "answer": "162"},
            {"problem": GEOMETRIC, "answer": "3"}]
    r, out, report = run(tmp_path, rows, "--against", str(aime), str(amc))
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[2]]
    removed = orjson.loads(report.read_bytes())
    assert [(x["index"], x["match_source"], x["match_index"]) for x in removed] == \
        [(0, "aime24", 1), (1, "amc", 0), (3, "math500", 33)]
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary["contaminated"] == {"math500": 1, "aime24": 1, "amc": 1}
    assert summary["eval_sets"] == {"math500": 500, "aime24": 2, "amc": 1}
    # without the shipped set
    r, out, report = run(tmp_path, rows, "--against", str(aime), "--no_default_sets", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [x["index"] for x in orjson.loads(report.read_bytes())] == [0]


def test_source_index_field_keeps_the_original_positions(tmp_path):
    rows = [{"problem": RESPELLED, "answer": "1"}, {"problem": SAME_TOPIC, "answer": "162"},
            {"problem": LONG, "answer": "2"}]
    r, out, _ = run(tmp_path, rows, "--source_index_field", "source_index")
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [{**rows[1], "source_index": 1}, {**rows[2], "source_index": 2}]


def test_dedup_keeps_the_first_and_reports_each_pair(tmp_path):
    variant = LONG.replace("60 square", "68 square")  # other numbers, other answer: another problem
    near = LONG.replace("built around the garden", "built around garden")  # one word dropped
    rows = [{"problem": LONG, "answer": "2"}, {"problem": SAME_TOPIC, "answer": "162"},
            {"problem": LONG, "answer": "2", "id": "copy"},
            {"problem": LONG.replace(" 12 meters", " $12$  meters").upper(), "answer": "2"},
            {"problem": near, "answer": "2"}, {"problem": variant, "answer": "2.2"},
            {"problem": SAME_TOPIC, "answer": "162"}]
    r, out, report = run(tmp_path, rows, "--dedup")
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == [rows[0], rows[1], rows[5]]
    removed = orjson.loads(report.read_bytes())
    assert [(x["index"], x["match_index"], x["method"]) for x in removed] == \
        [(2, 0, "exact"), (3, 0, "exact"), (4, 0, "minhash"), (6, 1, "exact")]
    assert all(x["reason"] == "duplicate" and x["match_source"] == "input" for x in removed)
    assert removed[2]["match"] == LONG and 95 <= removed[2]["score"] < 100
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary["duplicates"] == 4 and summary["methods"] == {"exact": 3, "minhash": 1}
    assert "removed: duplicates" in r.stdout


def test_near_duplicate_with_another_answer_is_kept():
    texts = [normalize_problem(LONG), normalize_problem(LONG.replace("built around the garden", "built around garden"))]
    assert find_duplicates(texts, ["2", "3"], progress=False) == []
    [dup] = find_duplicates(texts, ["2", "2"], progress=False)
    assert (dup.index, dup.match_index, dup.method) == (1, 0, "minhash")


def test_shipped_sample_keeps_its_problems(tmp_path):
    rows = orjson.loads((ROOT / "cft_data/deepscaler_train.json").read_bytes())
    r, out, report = run(tmp_path, rows)
    assert r.returncode == 0, r.stderr
    assert orjson.loads(out.read_bytes()) == rows  # no arithmetic drill is a MATH-500 problem
    r, out, report = run(tmp_path, rows, "--dedup", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [(x["index"], x["match_index"]) for x in orjson.loads(report.read_bytes())] == [(11, 8), (12, 9), (30, 29)]


@pytest.mark.parametrize("content, message", [
    (b'{"problem": "a"}\n{"problem": \n', "aime.jsonl: line 2: not valid JSON"),
    (b'{"problem": "a"}\n\n{"answer": "3"}\n', "aime.jsonl: row 1 (line 3): no problem (looked for question"),
    (b'{"problem": "a"}\n[1, 2]\n', "aime.jsonl: row 1 (line 2): expected an object, got list"),
    (b"", "aime.jsonl: no problems in this evaluation set"),
])
def test_bad_eval_set_names_file_and_row(tmp_path, content, message):
    (tmp_path / "aime.jsonl").write_bytes(content)
    r, out, report = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--against", str(tmp_path / "aime.jsonl"))
    assert r.returncode == 1 and message in r.stderr and r.stderr.startswith("error: ")
    assert "Traceback" not in r.stderr and not out.exists() and not report.exists()


def test_bad_parquet_and_input_rows(tmp_path):
    bad = tmp_path / "amc.parquet"
    pq.write_table(pa.table({"problem": ["a", None], "id": [1, 2]}), bad)
    r, out, _ = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--against", str(bad))
    assert r.returncode == 1 and "amc.parquet: row 1: no problem" in r.stderr and not out.exists()
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    r, out, _ = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--against", str(tmp_path / "broken.parquet"))
    assert r.returncode == 1 and "broken.parquet: not a readable parquet file" in r.stderr
    r, out, _ = run(tmp_path, [{"problem": LONG, "answer": "2"}], "--against", str(tmp_path / "missing.json"))
    assert r.returncode == 1 and "missing.json: file not found" in r.stderr
    r, out, _ = run(tmp_path, [{"problem": LONG}, {"answer": "3", "id": 9}])
    assert r.returncode == 1 and "train.json: row 1: no problem" in r.stderr and not out.exists()
    r, out, _ = run(tmp_path, [{"problem": GEOMETRIC, "answer": "3"}])
    assert r.returncode == 1 and "every one of its 1 problems would be removed" in r.stderr and not out.exists()
    r, out, _ = run(tmp_path, [{"problem": LONG}], "--threshold", "120")
    assert r.returncode == 1 and "--threshold" in r.stderr
