"""Step 2 on real chunk files: merge, and every way a chunk set can be wrong."""

import json
import subprocess
import sys

import orjson
import pytest
from helpers import write_chunks, write_input

from cft.common.errors import CftError
from cft.common.jsonio import write_results_file
from cft.curate.merge import merge_chunks

M = "qwen-2.5-math-7b"


@pytest.fixture
def run_dir(tmp_path):
    inp = tmp_path / "deepscaler_train.json"
    write_input(inp, 10)
    folder = tmp_path / "solutions_qwen25"
    write_chunks(folder, M, inp, [i % 5 for i in range(10)], chunk_size=4)
    return tmp_path, inp, folder


def test_merge_sorted_and_complete(run_dir):
    tmp, _, folder = run_dir
    out = tmp / "merged.json"
    s = merge_chunks(folder, M, out, progress=False)
    data = orjson.loads(out.read_bytes())
    assert [r["index"] for r in data["results"]] == list(range(10))
    assert data["metadata"]["model"] == M and data["metadata"]["missing_chunks"] == []
    assert (s.chunks_merged, s.chunks_expected, s.problems, s.solutions) == (3, 3, 10, 40)
    assert s.num_correct_hist == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}


def test_missing_chunk_is_named(run_dir):
    tmp, _, folder = run_dir
    (folder / f"{M}_chunk_001.json").unlink()
    with pytest.raises(CftError, match=r"1 of 3 chunks .* missing: 1"):
        merge_chunks(folder, M, tmp / "m.json", progress=False)
    assert not (tmp / "m.json").exists()
    s = merge_chunks(folder, M, tmp / "m.json", allow_partial=True, progress=False)
    assert s.missing_chunks == [1]
    data = orjson.loads((tmp / "m.json").read_bytes())
    assert [r["index"] for r in data["results"]] == [0, 1, 2, 3, 8, 9]
    assert data["metadata"]["missing_chunks"] == [1]


def test_truncated_chunk_is_named(run_dir):
    tmp, _, folder = run_dir
    path = folder / f"{M}_chunk_002.json"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CftError, match=f"{path.name}.*not valid JSON"):
        merge_chunks(folder, M, tmp / "m.json", progress=False)
    assert not (tmp / "m.json").exists()


def _edit(path, fn, layout="lines"):
    """Change a chunk file; write it back one row per line (as we write) or on one line."""
    data = orjson.loads(path.read_bytes())
    fn(data)
    if layout == "lines":
        write_results_file(path, data["metadata"], data["results"])
    else:
        path.write_bytes(orjson.dumps(data))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["metadata"].update(model="qwen3-4b-base"), "another run: model"),
    (lambda d: d["metadata"].update(input_sha256="0" * 64), "another run: input_sha256"),
    (lambda d: d["metadata"]["sampling"].update(temperature=1.0), "another run: sampling"),
    (lambda d: d["metadata"].update(chunk_id=2), "metadata says chunk 2"),
    (lambda d: d["results"].append(dict(d["results"][0])), "index 4 appears twice"),
    (lambda d: d["results"][0].update(index=3), "index 3 lies outside chunk 1"),
    (lambda d: d["results"].pop(), "lacks 1 of its 4 rows"),
])
@pytest.mark.parametrize("layout", ["lines", "one line"])
def test_bad_chunk_is_refused(run_dir, edit, message, layout):
    tmp, _, folder = run_dir
    path = folder / f"{M}_chunk_001.json"
    _edit(path, edit, layout)
    with pytest.raises(CftError, match=message) as e:
        merge_chunks(folder, M, tmp / "m.json", progress=False)
    assert path.name in str(e.value)
    assert not (tmp / "m.json").exists()


def test_any_chunk_layout_merges_to_the_same_bytes(run_dir):
    """Rows in our layout are copied as read; other layouts and unsorted rows are re-serialized, same bytes."""
    tmp, _, folder = run_dir
    merge_chunks(folder, M, tmp / "lines.json", progress=False)
    _edit(folder / f"{M}_chunk_000.json", lambda d: d["results"].reverse())
    _edit(folder / f"{M}_chunk_001.json", lambda d: None, layout="one line")
    path = folder / f"{M}_chunk_002.json"
    path.write_text(json.dumps(orjson.loads(path.read_bytes()), indent=2, ensure_ascii=True))
    merge_chunks(folder, M, tmp / "mixed.json", progress=False)
    assert (tmp / "mixed.json").read_bytes() == (tmp / "lines.json").read_bytes()


def test_chunk_out_of_range(run_dir):
    tmp, _, folder = run_dir
    (folder / f"{M}_chunk_007.json").write_bytes((folder / f"{M}_chunk_000.json").read_bytes())
    with pytest.raises(CftError, match="chunk 7 is out of range"):
        merge_chunks(folder, M, tmp / "m.json", progress=False)


def test_cli_both_models_and_overwrite(tmp_path):
    from conftest import ROOT

    inp = tmp_path / "deepscaler_train.json"
    write_input(inp, 6)
    write_chunks(tmp_path / "solutions_qwen25", M, inp, [1] * 6)
    write_chunks(tmp_path / "solutions_qwen3", "qwen3-4b-base", inp, [2] * 6)
    cmd = [sys.executable, str(ROOT / "merge_solutions.py"), "--qwen25_dir", str(tmp_path / "solutions_qwen25"),
           "--qwen3_dir", str(tmp_path / "solutions_qwen3"), "--output_dir", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    assert "merged qwen3-4b-base" in r.stdout and "2 of 2" in r.stdout
    blocks = r.stdout.split("== merged ")[1:]  # each model's summary names its own file
    assert [b.split(" ==")[0] for b in blocks] == [M, "qwen3-4b-base"]
    assert "deepscaler_qwen25_solutions.json" in blocks[0] and "deepscaler_qwen3_solutions.json" in blocks[1]
    for alias in ("qwen25", "qwen3"):
        assert len(orjson.loads((tmp_path / f"deepscaler_{alias}_solutions.json").read_bytes())["results"]) == 6
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    assert subprocess.run(cmd + ["--overwrite"], capture_output=True).returncode == 0


def _drop_input_rows(folder):
    for path in sorted(folder.glob("*.json")):
        _edit(path, lambda d: d["metadata"].pop("input_rows", None))


def test_chunks_without_input_rows_merge(run_dir):
    """input_rows is optional in the chunk schema: the count comes from the input file, else the chunks."""
    tmp, inp, folder = run_dir
    merge_chunks(folder, M, tmp / "with.json", progress=False)
    _drop_input_rows(folder)
    s = merge_chunks(folder, M, tmp / "without.json", progress=False)
    assert (s.chunks_expected, s.problems) == (3, 10) and "chunk 2 is taken as the last one" in s.notes[0]
    s = merge_chunks(folder, M, tmp / "given.json", progress=False, input_rows=10)
    assert s.notes == []
    rows = [orjson.loads((tmp / f).read_bytes())["results"] for f in ("with.json", "without.json", "given.json")]
    assert rows[0] == rows[1] == rows[2]


def test_chunks_without_input_rows_still_refuse_gaps(run_dir):
    tmp, inp, folder = run_dir
    _drop_input_rows(folder)
    (folder / f"{M}_chunk_001.json").unlink()
    with pytest.raises(CftError, match=r"1 of 3 chunks .* missing: 1"):
        merge_chunks(folder, M, tmp / "m.json", progress=False)
    # the last chunk missing: only the input file can tell
    write_chunks(folder, M, inp, [i % 5 for i in range(10)], chunk_size=4, only=[1])
    _drop_input_rows(folder)
    (folder / f"{M}_chunk_002.json").unlink()
    merge_chunks(folder, M, tmp / "m.json", progress=False)  # chunks 0-1 look whole
    with pytest.raises(CftError, match=r"1 of 3 chunks .* missing: 2"):
        merge_chunks(folder, M, tmp / "m2.json", progress=False, input_rows=10)
    # a short chunk that is not the last one is refused
    _edit(folder / f"{M}_chunk_000.json", lambda d: (d["results"].pop(), d["metadata"].update(end_index=3)))
    with pytest.raises(CftError, match=r"chunk_000.json: chunk 0 covers \[0, 3\), expected \[0, 4\)"):
        merge_chunks(folder, M, tmp / "m3.json", progress=False)


@pytest.mark.parametrize("chunk", [0, 1, 2])
@pytest.mark.parametrize("cut", [10, 300, 0.5, -3, -2])
def test_every_truncated_or_corrupt_chunk_is_named(run_dir, chunk, cut):
    """Cut anywhere (header, mid-row, before the closing bracket): the error names that very file."""
    tmp, _, folder = run_dir
    path = folder / f"{M}_chunk_{chunk:03d}.json"
    data = path.read_bytes()
    at = int(len(data) * cut) if isinstance(cut, float) else cut
    path.write_bytes(data[:at])
    with pytest.raises(CftError) as e:
        merge_chunks(folder, M, tmp / "m.json", progress=False)
    assert str(e.value).startswith(str(path)), str(e.value)
    assert not (tmp / "m.json").exists()


def test_merge_cli_reads_the_input_file(run_dir):
    from conftest import ROOT

    tmp, inp, folder = run_dir
    _drop_input_rows(folder)
    (folder / f"{M}_chunk_002.json").unlink()
    cmd = [sys.executable, str(ROOT / "merge_solutions.py"), "--qwen25_dir", str(folder), "--models", "qwen25",
           "--output_dir", str(tmp), "--summary_json", str(tmp / "summary.json")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    summary = orjson.loads((tmp / "summary.json").read_bytes())
    assert summary["models"][M]["chunks_expected"] == 2 and "taken as the last one" in summary["models"][M]["notes"][0]
    r = subprocess.run(cmd + ["--overwrite", "--input_file", str(inp)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "missing: 2" in r.stderr
