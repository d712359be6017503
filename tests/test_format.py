"""Step 5: verl rows in JSON and parquet, read back with pyarrow as verl's loader does."""

import subprocess
import sys

import orjson
import pyarrow.parquet as pq
import pytest

from cft.common.errors import CftError
from cft.critic.verl_rows import to_verl


def critique_row(i, target):
    return {"index": i // 2, "question": f"Q{i}?", "solution": f"S{i} \\boxed{{1}}", "ground_truth": "1",
            "target": target, "prompt": f"PROMPT {i}", "source_model": "qwen3-4b-base", "solution_index": i,
            "extracted_answer": "1"}


def test_verl_row_shape():
    assert to_verl(critique_row(3, "wrong"), 5) == {
        "data_source": "deepscaler_critique",
        "prompt": [{"role": "user", "content": "PROMPT 3"}],
        "ability": "critique",
        "reward_model": {"style": "rule", "ground_truth": "wrong"},
        "answer": "wrong",
        "target": "wrong",
        "extra_info": {"split": "train", "index": 5, "question_index": 1, "source_model": "qwen3-4b-base",
                       "solution": "S3 \\boxed{1}", "question_ground_truth": "1", "solution_index": 3},
    }


@pytest.mark.parametrize("row, message", [
    ({"index": 0}, "critique row 0: missing"),
    ({**critique_row(0, "right"), "target": "maybe"}, "target is 'maybe'"),
])
def test_bad_rows(row, message):
    with pytest.raises(CftError, match=message):
        to_verl(row, 0)


def test_a_bad_row_is_named_with_its_file(tmp_path):
    from conftest import ROOT

    src = tmp_path / "critique.json"
    src.write_bytes(orjson.dumps([critique_row(0, "right"), {**critique_row(1, "right"), "target": "maybe"}]))
    r = subprocess.run([sys.executable, str(ROOT / "format_critique_data.py"), "--critique_file", str(src),
                        "--output_file", str(tmp_path / "f.json")], capture_output=True, text=True)
    assert r.returncode == 1 and f"error: {src}: critique row 1: target is 'maybe'" in r.stderr, r.stderr


def test_cli_writes_json_and_parquet(tmp_path):
    from conftest import ROOT

    rows = [critique_row(i, "right" if i % 3 else "wrong") for i in range(9)]
    src = tmp_path / "critique.json"
    src.write_bytes(orjson.dumps(rows))
    out = tmp_path / "formatted.json"
    cmd = [sys.executable, str(ROOT / "format_critique_data.py"), "--critique_file", str(src),
           "--output_file", str(out), "--analyze", "--val_size", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    formatted = orjson.loads(out.read_bytes())
    table = pq.read_table(tmp_path / "formatted.parquet")
    assert table.num_rows == 9
    assert table.to_pylist() == formatted  # parquet holds the same nested rows
    assert {"data_source", "prompt", "ability", "reward_model", "extra_info"} <= set(table.column_names)
    assert [f["extra_info"]["index"] for f in formatted] == list(range(9))
    assert "right" in r.stdout and "6 (66.7%)" in r.stdout
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and "already exists" in r.stderr
