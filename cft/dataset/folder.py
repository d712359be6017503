"""The dataset folder: one run's data as ``datasets.load_dataset`` reads it, with its card and manifest.

    <output_dir>/
      README.md                      the dataset card (cft.dataset.card): YAML head, then plain words
      data/rl/train.parquet          step 5's training rows
      data/rl/validation.parquet     its held-out rows (when step 5 held some out)
      manifest.json                  written last: every file's size, sha256, rows (cft.dataset.manifest)

The data files are hard links to the step outputs (no copy, no extra space; the pipeline replaces
its outputs by renaming, so a later run never changes a link's bytes), or copies where the
filesystem refuses a link (another filesystem, a filesystem without links): the summary says which.

The folder is built whole beside its final place (a hidden ``.<name>.<random>.tmp`` folder) and
renamed into place once its manifest is written; an existing folder is moved aside first and
removed after. A failure removes the half-built folder and leaves the previous one; a kill -9
can leave a hidden ``.tmp`` folder, never a visible folder without its manifest. A folder is
only replaced (``--overwrite``) if it holds a manifest, so a folder of something else is never
deleted by mistake.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cft.common.errors import CftError
from cft.common.oserrors import named
from cft.critic.split import val_path
from cft.dataset.configs import TRAIN, VALIDATION, Config
from cft.dataset.manifest import MANIFEST_NAME

CARD = "README.md"
HARD_LINK, COPY = "hard link", "copy"


@dataclass
class SplitFile:
    """One split of one config: where it came from, where it sits in the folder, what it holds."""

    config: Config
    split: str
    source: Path
    rows: int = 0
    num_bytes: int = 0  # the rows' Arrow size in memory, as datasets records it (DatasetInfo.splits)
    labels: dict[str, int] = field(default_factory=dict)
    placed: str = ""  # HARD_LINK or COPY
    why_copy: str = ""

    @property
    def path(self) -> str:
        """Its path in the folder, as the card and the manifest name it."""
        return f"data/{self.config.name}/{self.split}.parquet"


def split_files(config: Config, train_file: str | os.PathLike) -> list[SplitFile]:
    """The config's training file and, when it exists, its held-out twin (``_val``)."""
    train = Path(train_file)
    files = [SplitFile(config, TRAIN, train)]
    if val_path(train).is_file():
        files.append(SplitFile(config, VALIDATION, val_path(train)))
    return files


def read_parquet_facts(item: SplitFile, path: Path | None = None) -> None:
    """Rows, Arrow size and label counts of ``item``'s file, read one row group at a time."""
    path = path or item.source
    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise CftError(f"{path}: file not found") from None
    except (pa.ArrowInvalid, OSError) as e:
        raise CftError(f"{path}: not a parquet file (truncated or corrupt?): {e}") from None
    labels: dict[str, int] = {}
    num_bytes = 0
    with pf:
        for i in range(pf.num_row_groups):
            group = pf.read_row_group(i)
            num_bytes += group.nbytes
            if item.config.label in group.column_names:
                for entry in group.column(item.config.label).value_counts().to_pylist():
                    labels[str(entry["values"])] = labels.get(str(entry["values"]), 0) + entry["counts"]
        item.rows, item.num_bytes = pf.metadata.num_rows, num_bytes
    item.labels = dict(sorted(labels.items()))


def place(item: SplitFile, folder: Path, final: Path) -> None:
    """Put ``item``'s file at its path in ``folder``: a hard link, else a copy (errors name ``final``)."""
    dst = folder / item.path
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(item.source, dst)
        item.placed = HARD_LINK
        return
    except OSError as e:  # another filesystem (EXDEV), links not supported or not allowed
        item.placed, item.why_copy = COPY, e.strerror or str(e)
    try:
        shutil.copyfile(item.source, dst)
        with open(dst, "rb+") as f:
            os.fsync(f.fileno())
    except OSError as e:
        raise named(e, final / item.path) from None


def placement(items: list[SplitFile]) -> str:
    """``"hard links"``, or ``"copies (why)"`` when any file had to be copied."""
    copies = [i for i in items if i.placed == COPY]
    if not copies:
        return "hard links"
    why = copies[0].why_copy
    return ("copies" if len(copies) == len(items) else f"{len(copies)} of {len(items)} copied") + \
        f" (a hard link was refused: {why})"


def check_replaceable(output: Path, overwrite: bool) -> None:
    """``output`` may be (re)built: absent, or a folder this builder made (its manifest) with --overwrite."""
    if not output.exists():
        return
    if not output.is_dir():
        raise CftError(f"{output}: exists and is not a folder; choose another --output_dir")
    if not overwrite:
        raise CftError(f"{output}: already exists; pass --overwrite to replace it")
    if not (output / MANIFEST_NAME).is_file() and any(output.iterdir()):
        raise CftError(f"{output}: holds files but no {MANIFEST_NAME}, so it is not a folder build_dataset.py "
                       "made; remove it or choose another --output_dir")


@contextlib.contextmanager
def staging(output: Path):
    """A hidden folder beside ``output`` to build in; renamed to ``output`` when the block succeeds."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    except OSError as e:
        raise named(e, output) from None
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the folder gets the usual permissions
    try:
        yield tmp
        swap_in(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(tmp: Path, output: Path) -> None:
    old = None
    try:
        if output.exists():
            old = output.parent / f".{output.name}.{secrets.token_hex(4)}.old.tmp"
            os.rename(output, old)
        os.rename(tmp, output)
    except OSError as e:
        if old is not None and not output.exists():
            with contextlib.suppress(OSError):
                os.rename(old, output)  # the previous folder back in place
        raise named(e, output) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):
        fd = os.open(output.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
