"""Steps 2-5 on several processes: the same bytes as one process, and errors that still name the line."""

import os
import random
import subprocess
import sys

import orjson
import pyarrow.parquet as pq
import pytest
from helpers import write_chunks, write_input

from cft import regions
from cft.critique import write_critique
from cft.errors import CftError
from cft.filter import filter_files
from cft.jsonio import read_json, write_json_list, write_results_file
from cft.merge import merge_chunks

QWEN25, QWEN3 = "qwen-2.5-math-7b", "qwen3-4b-base"


def list_file(tmp_path, n, name="rows.json"):
    rng = random.Random(n)
    rows = [{"index": i, "text": "x" * rng.randint(0, 300), "solutions": []} for i in range(n)]
    path = tmp_path / name
    write_json_list(path, rows)
    return path, rows


@pytest.mark.parametrize("n, parts", [(1, 3), (2, 2), (57, 1), (57, 4), (57, 57), (300, 7)])
def test_regions_cover_every_row_once(tmp_path, n, parts):
    path, rows = list_file(tmp_path, n)
    span = regions.row_span(path)
    cut = regions.split(span, parts, min_bytes=1)
    assert cut[0].start == span.start and cut[-1].end == span.end
    assert all(a.end == b.start for a, b in zip(cut, cut[1:]))
    assert 1 <= len(cut) <= min(parts, n)
    assert [row for r in cut for _, row in regions.region_rows(r)] == rows


def test_results_file_span_and_bisection(tmp_path):
    path = tmp_path / "merged.json"
    indices = [0, 1, 2, 5, 6, 9, 10, 11, 20]
    write_results_file(path, {"model": "m"}, [{"index": i, "solutions": [], "pad": "y" * i} for i in indices])
    span = regions.row_span(path)
    with open(path, "rb") as f:
        line_starts = []
        pos = span.start
        while pos < span.end:
            line_starts.append(pos)
            _, pos = regions.index_at(f, pos)
    assert len(line_starts) == len(indices)
    for target in range(0, 23):
        expected = next((s for s, i in zip(line_starts, indices) if i >= target), span.end)
        assert regions.seek_index(span, target) == expected, target


@pytest.mark.parametrize("text", [
    b'[{"index": 0}, {"index": 1}]\n',  # one line
    b'[\n  {\n    "index": 0\n  }\n]\n',  # indented
    b"[]\n",
    b'[\n{"index":0},\n{"index":1},\n',  # truncated
])
def test_other_layouts_take_the_single_process_path(tmp_path, text):
    path = tmp_path / "x.json"
    path.write_bytes(text)
    assert regions.row_span(path) is None


@pytest.mark.parametrize("counts", [[3, 0, 2], [0, 0, 4], [0, 0, 0], [1], [2, 5, 0, 0, 1]])
def test_parts_join_to_the_bytes_of_one_writer(tmp_path, counts):
    rows = [{"i": i, "t": "é\n\"" * i} for i in range(sum(counts))]
    write_json_list(tmp_path / "one.json", rows)
    with regions.Parts(tmp_path / "many.json", len(counts)) as parts:
        done, it = [], iter(rows)
        for k, count in enumerate(counts):
            done.append(regions.write_part(parts.paths[k], [next(it) for _ in range(count)],
                                           b"[" if k == 0 else None))
        assert parts.finish(done.__getitem__, tail=b"\n") == len(rows)
        assert parts.dir.exists()
    assert not parts.dir.exists()
    assert (tmp_path / "many.json").read_bytes() == (tmp_path / "one.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.json", "one.json"]


# --- the steps, end to end ------------------------------------------------------

N = 90  # problems; chunk files of 8; region size a few KB, so each step splits into many regions


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regions")
    inp = tmp / "deepscaler_train.json"
    write_input(inp, N)
    rng = random.Random(0)
    for model, alias in ((QWEN25, "qwen25"), (QWEN3, "qwen3")):
        write_chunks(tmp / f"solutions_{alias}", model, inp, [rng.choice([0, 0, 1, 2, 4, 4]) for _ in range(N)],
                     chunk_size=8, truncated=1)
    return tmp, inp


def run_steps(tmp, inp, out, workers):
    """Steps 2-5 through the real scripts; returns each step's stdout."""
    from conftest import ROOT

    env = dict(os.environ, CFT_MIN_REGION_BYTES="3000")
    out.mkdir()
    steps = [
        ["merge_solutions.py", "--qwen25_dir", tmp / "solutions_qwen25", "--qwen3_dir", tmp / "solutions_qwen3",
         "--output_dir", out],
        ["filter_solutions.py", "--qwen25_file", out / "deepscaler_qwen25_solutions.json", "--qwen3_file",
         out / "deepscaler_qwen3_solutions.json", "--original_file", inp, "--output_file", out / "filtered.json"],
        ["generate_critique_data.py", "--filtered_file", out / "filtered.json", "--output_file",
         out / "critique.json", "--analyze"],
        ["format_critique_data.py", "--critique_file", out / "critique.json", "--output_file",
         out / "formatted.json", "--analyze"],
    ]
    stdout = []
    for script, *args in steps:
        r = subprocess.run([sys.executable, str(ROOT / script), *map(str, args), "--workers", str(workers)],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        stdout.append(r.stdout.replace(str(out), "OUT"))
    return stdout


def test_steps_on_many_workers_write_what_one_writes(run_dir):
    tmp, inp = run_dir
    one = run_steps(tmp, inp, tmp / "one", 1)
    many = run_steps(tmp, inp, tmp / "many", 3)
    for name in ("deepscaler_qwen25_solutions.json", "deepscaler_qwen3_solutions.json", "filtered.json",
                 "critique.json", "formatted.json", "formatted.parquet"):
        assert (tmp / "many" / name).read_bytes() == (tmp / "one" / name).read_bytes(), name
    table = pq.read_table(tmp / "many" / "formatted.parquet")
    assert table.num_rows > 20 and table.to_pylist() == read_json(tmp / "many" / "formatted.json")
    assert many == one  # the summaries add the workers' counts up to the single process's
    filtered = read_json(tmp / "many" / "filtered.json")
    assert 0 < len(filtered) < N and [r["index"] for r in filtered] == sorted({r["index"] for r in filtered})
    # nothing left behind beside the outputs
    assert not [p for p in (tmp / "many").iterdir() if p.name.startswith(".")]


@pytest.fixture
def merged(run_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(regions, "MIN_REGION_BYTES", 3000)
    tmp, inp = run_dir
    for model, alias in ((QWEN25, "qwen25"), (QWEN3, "qwen3")):
        merge_chunks(tmp / f"solutions_{alias}", model, tmp_path / f"{alias}.json", progress=False)
    files = {"qwen25": tmp_path / "qwen25.json", "qwen3": tmp_path / "qwen3.json"}
    return files, orjson.loads(inp.read_bytes()), tmp_path


def lines_of(path):
    return path.read_bytes().split(b"\n")


def test_corrupt_line_is_named_by_a_worker(merged):
    files, original, tmp = merged
    lines = lines_of(files["qwen3"])
    lines[60] = lines[60][:100]  # a torn row in the middle of the file
    files["qwen3"].write_bytes(b"\n".join(lines))
    with pytest.raises(CftError, match=r"qwen3.json: line 61 is not valid JSON"):
        filter_files(original, files, tmp / "out.json", workers=2)
    assert sorted(p.name for p in tmp.iterdir()) == ["qwen25.json", "qwen3.json"]


def test_repeated_row_is_refused_by_workers(merged):
    files, original, tmp = merged
    lines = lines_of(files["qwen25"])
    lines[51] = lines[50]  # problem 48 twice, 49 gone
    files["qwen25"].write_bytes(b"\n".join(lines))
    for workers in (1, 2):
        with pytest.raises(CftError, match=r"qwen25.json: index 48 appears twice or out of order"):
            filter_files(original, files, tmp / "out.json", workers=workers)
    assert not (tmp / "out.json").exists()


def test_missing_problem_found_by_a_worker(merged):
    files, original, tmp = merged
    lines = lines_of(files["qwen3"])
    del lines[70]  # problem 68's row (lines 0-1 are the header)
    files["qwen3"].write_bytes(b"\n".join(lines))
    with pytest.raises(CftError, match=r"problem 68 is missing from the qwen3 solutions"):
        filter_files(original, files, tmp / "out.json", workers=2)
    n, stats = filter_files(original, files, tmp / "out.json", allow_partial=True, workers=2)
    n1, stats1 = filter_files(original, files, tmp / "one.json", allow_partial=True, workers=1)
    assert stats.reasons["missing"] == 1 and (n, stats.reasons) == (n1, stats1.reasons)
    assert (tmp / "out.json").read_bytes() == (tmp / "one.json").read_bytes()


def test_critique_error_in_a_worker_leaves_no_output(merged):
    files, original, tmp = merged
    filter_files(original, files, tmp / "filtered.json", workers=1)
    lines = lines_of(tmp / "filtered.json")
    lines[-3] = b'"not an object"'
    (tmp / "filtered.json").write_bytes(b"\n".join(lines))
    with pytest.raises(CftError, match=r"filtered.json: line \d+: expected an object"):
        write_critique(tmp / "filtered.json", tmp / "critique.json", workers=2)
    assert not (tmp / "critique.json").exists()
    assert not [p for p in tmp.iterdir() if p.name.startswith(".")]
