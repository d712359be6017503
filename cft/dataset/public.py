"""No local path in a published file: the card and the manifest name files and models as others can read them.

A dataset folder is meant for the Hub, where the builder's folders (``/home/<user>/...``, a cluster's
scratch space, the clone's ``.cache/``) mean nothing and say more than the builder may want. ``model_name``
keeps a hub id (``Qwen/Qwen2.5-Math-7B``) and turns a local folder into its name with a note;
``scrub`` rewrites every absolute path inside a value (a summary, a command line) into its last part
behind ``<local>/``, so a command still reads as the command it was.
"""

from __future__ import annotations

import re
from typing import Any

LOCAL = "<local>"
# an absolute path: a leading / (after a space, =, quote or the start) up to the next space or quote
_ABS = re.compile(r"(?<![\w.~<>:/])/(?:[^\s'\"=,;:]+/)*([^\s'\"=,;:/]+)/?")


def is_local(name: str) -> bool:
    """A path on the builder's machine, rather than a hub id (``org/name``)."""
    text = str(name)
    return text.startswith(("/", "./", "../", "~")) or text.count("/") > 1 or "\\" in text


def model_name(name: str | None) -> str:
    """A hub id as it is; a local folder by its name, marked as one."""
    if not name:
        return "not recorded"
    text = str(name)
    if not is_local(text):
        return text
    return f"{text.replace(chr(92), '/').rstrip('/').rsplit('/', 1)[-1]} (a local folder)"


def scrub(value: Any) -> Any:
    """``value`` with every absolute path in its strings written as ``<local>/<last part>``."""
    if isinstance(value, str):
        return _ABS.sub(lambda m: f"{LOCAL}/{m.group(1)}", value)
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value
