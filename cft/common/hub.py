"""Files a model keeps on the Hugging Face Hub (its config, its tokenizer), read without waiting on a Hub that
cannot answer.

``from_hub(load, model, what)`` reads a local folder as it is; a hub id first from the local cache
(``local_files_only``), and only then from the Hub, once it has answered one quick request: on a machine
without the Hub (a cluster's login node, often) the lookup fails at once in one line, instead of
huggingface_hub's five retries with backoff (26 s of "Retrying in 8s" lines). ``HF_HUB_OFFLINE=1`` and
``HF_ENDPOINT`` are honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cft.common.errors import CftError

T = TypeVar("T")
PROBE_TIMEOUT_S = 5.0


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def hub_unreachable() -> str | None:
    """None where the Hub answers a plain request; else why not, in a few words."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        httpx.head(constants.ENDPOINT, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as e:
        return f"{constants.ENDPOINT} does not answer ({_one_line(e)})"
    return None


def _looks_local(model: str) -> bool:
    """A folder's path rather than a hub id (``NAME`` or ``ORG/NAME``)."""
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1


def from_hub(load: Callable[..., T], model: str, what: str, *, cached_only: bool = False) -> T | None:
    """``load(model, **kw)`` (``AutoConfig.from_pretrained``, ``AutoTokenizer.from_pretrained``): a folder as it
    is; a hub id from the cache, else from the Hub when it answers. ``cached_only``: None rather than a Hub
    lookup. Raises ``CftError`` in one line naming ``what`` and ``model``."""
    if _looks_local(model) and not Path(model).is_dir():  # a typo'd folder, not a hub id
        raise CftError(f"cannot load the {what} of {model!r}: no such folder (a hub id is NAME or ORG/NAME)")
    if Path(model).is_dir():
        try:
            return load(model)
        except Exception as e:  # noqa: BLE001 (transformers raises many kinds)
            raise CftError(f"cannot load the {what} of {model!r}: {_one_line(e)}") from None
    try:
        return load(model, local_files_only=True)
    except Exception:  # noqa: BLE001 (not in the cache: the Hub is asked below)
        pass
    if cached_only:
        return None
    why = hub_unreachable()
    if why is not None:
        raise CftError(f"cannot load the {what} of {model!r}: not a local folder, not in the Hub cache, and {why}; "
                       "pass a local folder (--model_path) or download it first")
    try:
        return load(model)
    except Exception as e:  # noqa: BLE001
        raise CftError(f"cannot load the {what} of {model!r}: {_one_line(e)}") from None
