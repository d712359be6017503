"""A non-editable install carries every subpackage, and no data written elsewhere.

The package is built into a wheel from a copy of the working tree and installed with pip into a
fresh virtual environment (its dependencies come from the test environment through a .pth file,
so nothing is downloaded); step 0, the installed ``decontaminate.py`` on the venv's PATH, then
runs in a folder outside the checkout, offline, against the registered set math500 read from a local
copy in the Hub's layout that the test writes (its own problems).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import orjson
from conftest import ROOT
from helpers import EVAL_PROBLEMS, write_hub_dataset


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}{r.stderr[-2000:]}"
    return r


def test_wheel_installed_outside_the_checkout_runs_step_0(tmp_path):
    # the working tree as CI's clone has it: tracked files and untracked ones git does not ignore
    src = tmp_path / "src"
    files = run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"]).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist",
         src])
    wheel = next((tmp_path / "dist").glob("cft-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = sorted(p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "cft").rglob("__init__.py"))
    assert [p for p in packages if f"{p}/__init__.py" not in names] == []
    assert "cft/curate/eval_sets/registry.py" in names and "cft/reward.py" in names
    data = [n for n in names if n.startswith("cft/") and not n.endswith(".py")]
    assert data == [], data  # no problem set, evaluation set or test case rides along

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(site) / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel])

    work = tmp_path / "elsewhere"
    (work / "cft_data").mkdir(parents=True)
    problem, answer = EVAL_PROBLEMS[2]
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": problem, "answer": answer}]
    (work / "cft_data" / "deepscaler_train.json").write_bytes(orjson.dumps(rows))
    copy = write_hub_dataset(tmp_path / "math500", {"test": [{"problem": p, "answer": a} for p, a in EVAL_PROBLEMS]})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CFT_DATA_DIR")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    where = run([python, "-c", "import cft, cft.common.paths as p; print(cft.__file__); print(p.DATA_DIR)"],
                cwd=work, env=env).stdout.split()
    assert where[0].startswith(site) and where[1] == str(work / "cft_data")
    r = run([venv / "bin" / "decontaminate.py", "--eval_sets", "math500", "--against", f"math500={copy}"],
            cwd=work, env=env)
    assert "matches math500" in r.stdout
    kept = orjson.loads((work / "cft_data" / "deepscaler_train_clean.json").read_bytes())
    assert kept == rows[:1]
    removed = orjson.loads((work / "cft_data" / "deepscaler_train_clean_removed.json").read_bytes())
    assert [(r["index"], r["match_source"]) for r in removed] == [(1, "math500")]
