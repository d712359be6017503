"""Step 3: the keep rule, the kept rows' fields, and refusals on mismatched input."""

import re
import subprocess
import sys

import orjson
import pytest
from helpers import write_chunks, write_input

from cft.common.errors import CftError
from cft.curate.filter import ALL_CORRECT, ALL_WRONG, KEPT, decide, filter_rows, open_merged
from cft.curate.merge import merge_chunks
from cft.curate.pass_band import ABOVE_MAX, BELOW_MIN, PassBand

# problem i: (qwen25 correct of 4, qwen3 correct of 4) and whether it is kept
CASES = [(0, 0, False), (4, 4, False), (0, 4, True), (4, 0, True), (2, 0, True),
         (0, 3, True), (4, 1, True), (2, 2, True), (1, 4, True), (0, 0, False)]


@pytest.mark.parametrize("a, b, reason", [
    (0, 0, ALL_WRONG), (8, 8, ALL_CORRECT), (0, 8, KEPT), (8, 0, KEPT), (3, 8, KEPT), (0, 5, KEPT),
])
def test_keep_rule(a, b, reason):
    assert decide([a, b], [8, 8]) == reason


@pytest.fixture
def merged(tmp_path):
    inp = tmp_path / "deepscaler_train.json"
    write_input(inp, len(CASES))
    for model, alias, col in (("qwen-2.5-math-7b", "qwen25", 0), ("qwen3-4b-base", "qwen3", 1)):
        write_chunks(tmp_path / f"solutions_{alias}", model, inp, [c[col] for c in CASES])
        merge_chunks(tmp_path / f"solutions_{alias}", model, tmp_path / f"{alias}.json", progress=False)
    return tmp_path, inp


def run_filter(tmp_path, inp, *extra):
    from conftest import ROOT

    out = tmp_path / "filtered.json"
    r = subprocess.run([sys.executable, str(ROOT / "filter_solutions.py"), "--qwen25_file",
                        str(tmp_path / "qwen25.json"), "--qwen3_file", str(tmp_path / "qwen3.json"),
                        "--original_file", str(inp), "--output_file", str(out), *extra],
                       capture_output=True, text=True)
    return r, out


def test_filter_keeps_disagreeing_problems(merged):
    tmp_path, inp = merged
    r, out = run_filter(tmp_path, inp, "--analyze")
    assert r.returncode == 0, r.stderr
    rows = orjson.loads(out.read_bytes())
    assert [row["index"] for row in rows] == [i for i, c in enumerate(CASES) if c[2]]
    original = orjson.loads(inp.read_bytes())
    for row in rows:
        i = row["index"]
        a, b, _ = CASES[i]
        for key, value in original[i].items():  # every original field carried
            assert row[key] == value
        assert (row["qwen25_num_correct"], row["qwen3_num_correct"]) == (a, b)
        assert len(row["qwen25_solutions"]) == len(row["qwen3_solutions"]) == 4
        assert set(row["qwen25_solutions"][0]) >= {"text", "extracted_answer", "correct", "grade",
                                                   "finish_reason", "num_tokens"}
        assert row["qwen25_all_correct"] == (a == 4) and row["qwen25_all_wrong"] == (a == 0)
        assert row["qwen3_all_correct"] == (b == 4) and row["qwen3_all_wrong"] == (b == 0)
    assert re.search(r"removed: all_correct +: 1 \(10.0%\)", r.stdout)
    assert re.search(r"removed: all_wrong +: 2 \(20.0%\)", r.stdout)
    assert "kept" in r.stdout and "qwen3 correct-of-4, all" in r.stdout
    png = tmp_path / "filtered_analysis.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_problem_is_an_error_unless_partial(merged):
    tmp_path, inp = merged
    data = orjson.loads((tmp_path / "qwen3.json").read_bytes())
    data["results"] = [r for r in data["results"] if r["index"] != 3]
    (tmp_path / "qwen3.json").write_bytes(orjson.dumps(data))
    r, out = run_filter(tmp_path, inp)
    assert r.returncode == 1
    assert "problem 3 is missing from the qwen3 solutions" in r.stderr
    assert not out.exists() and "Traceback" not in r.stderr
    r, out = run_filter(tmp_path, inp, "--allow_partial")
    assert r.returncode == 0, r.stderr
    assert 3 not in [row["index"] for row in orjson.loads(out.read_bytes())]
    assert "removed: missing" in r.stdout


def test_solutions_of_another_input_are_refused(merged, tmp_path):
    tmp_dir, inp = merged
    other = tmp_dir / "other.json"
    write_input(other, len(CASES) + 1)
    with pytest.raises(CftError, match="generated from another input"):
        open_merged(tmp_dir / "qwen25.json", "qwen25", other, "f" * 64)
    r, out = run_filter(tmp_dir, other)
    assert r.returncode == 1 and "another input" in r.stderr
    assert f"pass --original_file with the problem set they were generated from (their metadata names {inp})" \
        in r.stderr


def test_the_original_file_defaults_to_the_one_the_solutions_were_made_from(merged):
    """Generation read step 0's clean file (here: the test's input, elsewhere than the data root): filter reads
    the same one by default, named in the solutions' metadata, instead of the raw deepscaler_train.json."""
    from conftest import ROOT

    tmp_path, inp = merged
    out = tmp_path / "filtered.json"
    r = subprocess.run([sys.executable, str(ROOT / "filter_solutions.py"), "--qwen25_file",
                        str(tmp_path / "qwen25.json"), "--qwen3_file", str(tmp_path / "qwen3.json"),
                        "--output_file", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [row["index"] for row in orjson.loads(out.read_bytes())] == [i for i, c in enumerate(CASES) if c[2]]


def test_ground_truth_mismatch_is_refused():
    original = [{"problem": "q", "answer": "1"}]
    res = {"qwen25": iter([{"index": 0, "ground_truth": "2", "solutions": []}]),
           "qwen3": iter([{"index": 0, "ground_truth": "1", "solutions": []}])}
    rows, _ = filter_rows(original, res)
    with pytest.raises(CftError, match="graded against '2'"):
        list(rows)


def test_streams_refuse_bad_order_and_extra_rows(merged):
    tmp_path, inp = merged
    data = orjson.loads((tmp_path / "qwen3.json").read_bytes())
    data["results"][3], data["results"][4] = data["results"][4], data["results"][3]
    (tmp_path / "qwen3.json").write_bytes(orjson.dumps(data))  # a whole-file layout: parsed, not streamed
    r, out = run_filter(tmp_path, inp)
    assert r.returncode == 1 and "problem 3 is missing from the qwen3 solutions" in r.stderr
    assert not out.exists()
    r, out = run_filter(tmp_path, inp, "--allow_partial")
    assert r.returncode == 1 and "index 3 appears twice or out of order (after 4)" in r.stderr
    assert not out.exists()
    original = [{"problem": "q", "answer": "1"}]
    rows, _ = filter_rows(original, {"qwen25": iter([{"index": 0, "ground_truth": "1", "solutions": []}]),
                                     "qwen3": iter([{"index": 0, "ground_truth": "1", "solutions": []},
                                                    {"index": 1, "ground_truth": "1", "solutions": []}])})
    with pytest.raises(CftError, match="qwen3 solutions have index 1, but original has only 1 rows"):
        list(rows)


# pass-rate bands: CASES pooled over 8 samples: 0, 8, 4, 4, 2, 3, 5, 4, 5, 0 correct
@pytest.mark.parametrize("a, b, band, reason", [
    (2, 1, PassBand(0.2, 0.8), BELOW_MIN),           # pooled 3/16
    (8, 6, PassBand(0.2, 0.8), ABOVE_MAX),           # pooled 14/16
    (4, 4, PassBand(0.2, 0.8), KEPT),
    (0, 0, PassBand(0.2, 0.8), ALL_WRONG),      # the keep rule comes first
    (8, 8, PassBand(0.0, 0.5), ALL_CORRECT),
    (1, 7, PassBand(0.2, 0.8), KEPT),                # pooled 8/16 ...
    (1, 7, PassBand(0.2, 0.8, per_model=True), BELOW_MIN),  # ... but 1/8 for one model
    (3, 8, PassBand(0.25, 0.9, per_model=True), ABOVE_MAX),
    (2, 2, PassBand(0.25, 0.25), KEPT),              # inclusive at both ends
])
def test_pass_rate_band(a, b, band, reason):
    assert decide([a, b], [8, 8], band) == reason


def test_band_edges_and_bad_bands():
    assert PassBand(0.2, 0.8).kept_counts(16) == range(4, 13)
    assert PassBand(0.2, 0.8).describe(16) == "[0.2, 0.8]: correct 4-12 of 16"
    with pytest.raises(CftError, match="0 <= --min_pass_rate"):
        PassBand(0.9, 0.1)


def test_filter_with_pooled_and_per_model_bands(merged):
    tmp_path, inp = merged
    summary = tmp_path / "summary.json"
    r, out = run_filter(tmp_path, inp, "--min_pass_rate", "0.3", "--max_pass_rate", "0.6", "--analyze",
                        "--summary_json", str(summary))
    assert r.returncode == 0, r.stderr
    assert [row["index"] for row in orjson.loads(out.read_bytes())] == [2, 3, 5, 7]
    assert re.search(r"removed: below_min_pass_rate +: 1 \(10.0%\)", r.stdout)
    assert re.search(r"removed: above_max_pass_rate +: 2 \(20.0%\)", r.stdout)
    assert "pooled correct-of-8, all" in r.stdout and "0:2 2:1 3:1 4:3 5:2 8:1" in r.stdout
    assert "band (pooled)" in r.stdout and "[0.3, 0.6]: correct 3-4 of 8" in r.stdout
    data = orjson.loads(summary.read_bytes())
    assert data["kept"] == 4 and data["removed"] == {"all_wrong": 2, "all_correct": 1, BELOW_MIN: 1,
                                                     ABOVE_MAX: 2}
    assert data["pooled_correct_kept"] == {"3": 1, "4": 3} and data["band"]["per_model"] is False
    assert (tmp_path / "filtered_analysis.png").read_bytes()[:4] == b"\x89PNG"
    r, out = run_filter(tmp_path, inp, "--min_pass_rate", "0.25", "--per_model", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [row["index"] for row in orjson.loads(out.read_bytes())] == [6, 7, 8]
    r, out = run_filter(tmp_path, inp, "--overwrite")  # no band: the seed's rule alone
    assert [row["index"] for row in orjson.loads(out.read_bytes())] == [i for i, c in enumerate(CASES) if c[2]]
    assert "below_min_pass_rate" not in r.stdout


@pytest.mark.parametrize("flags, message", [
    (["--min_pass_rate", "0.9", "--max_pass_rate", "0.1"], "0 <= --min_pass_rate (0.9) <= --max_pass_rate (0.1)"),
    (["--max_pass_rate", "1.5"], "<= 1"),
    (["--per_model"], "--per_model needs --min_pass_rate or --max_pass_rate"),
])
def test_bad_band_flags(merged, flags, message):
    tmp_path, inp = merged
    r, out = run_filter(tmp_path, inp, *flags)
    assert r.returncode == 1 and message in r.stderr and not out.exists()
