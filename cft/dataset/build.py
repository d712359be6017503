"""Building a dataset folder from a run's outputs: read, place, describe, then commit (``build_dataset.py``).

Everything that can be wrong with the inputs is found before the folder is touched: each data
file is read (rows, labels, Arrow size) first. The folder is then built in a hidden staging folder:
data files placed (``cft.dataset.folder.place``), the card written, the manifest written last,
and the whole folder renamed into place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from cft.common.errors import CftError
from cft.common.jsonio import atomic_open
from cft.common.summary import command_line
from cft.dataset import card, consistency, folder, manifest, provenance, public
from cft.dataset.configs import CONFIGS, TRAIN, VALIDATION, Config
from cft.dataset.folder import SplitFile


@dataclass
class Built:
    output: Path
    items: list[SplitFile]
    prov: provenance.Provenance
    placement: str
    left_out: list[tuple[Config, str]]  # configs not built, and why (no training file, or no rows in it)


def choose(files: dict[str, str | os.PathLike | None], configs: tuple[Config, ...] = CONFIGS
           ) -> tuple[list[SplitFile], list[tuple[Config, str]]]:
    """Each config's split files. ``files``: config name -> training file given (None: its default).
    When any file is given, only the configs given are built, and each must exist; when none is, every
    config whose default file exists is built, and the others are left out."""
    items, left_out = [], []
    explicit = any(files.get(config.name) for config in configs)
    for config in configs:
        given = files.get(config.name)
        if explicit and not given:
            continue
        train = Path(given) if given else config.train_file
        if not train.is_file():
            if given:
                raise CftError(f"{train}: file not found (--{config.flag})")
            left_out.append((config, f"no {train}"))
            continue
        items += folder.split_files(config, train)
    if not items:
        config, train = configs[0], configs[0].train_file
        raise CftError(f"{train}: file not found: no data to build a dataset from (run step {config.step} "
                       f"first, or pass --{config.flag})")
    return items, left_out


def build(output: str | os.PathLike, files: dict[str, str | os.PathLike | None], summaries: str | os.PathLike | None,
          license: str | None = None, pretty_name: str | None = None, overwrite: bool = False,
          configs: tuple[Config, ...] = CONFIGS) -> Built:
    output = Path(output)
    items, left_out = choose(files, configs)
    folder.check_replaceable(output, overwrite)
    for item in items:
        folder.read_parquet_facts(item)
    consistency.check(items)
    empty = [i for i in items if i.split == TRAIN and not i.rows]  # datasets cannot load a config of no rows
    left_out += [(i.config, f"no rows in {i.source}") for i in empty]
    items = [i for i in items if i.config not in {e.config for e in empty}]
    if not items:
        raise CftError(f"{empty[0].source}: holds no rows: no data to build a dataset from")
    checks = []
    for config in dict.fromkeys(item.config for item in items):
        rows = {item.split: item.rows for item in items if item.config == config}
        checks.append((config.step, rows[TRAIN], rows.get(VALIDATION, 0)))
    prov = provenance.gather(summaries, checks)
    name = pretty_name or default_name(prov)

    with folder.staging(output) as stage:
        for item in items:
            folder.place(item, stage, output)
        with atomic_open(stage / folder.CARD) as f:
            f.write(public.scrub(card.card_text(items, prov, license, name)).encode())  # no local path
        entries = {item.path: manifest.file_entry(stage / item.path, rows=item.rows, config=item.config.name,
                                                  split=item.split, source=str(item.source), placed=item.placed)
                   for item in items}
        config_files: dict[str, dict[str, str]] = {}
        for item in items:
            config_files.setdefault(item.config.name, {})[item.split] = item.path
        generated_with = {str(m.get("model")): m.get("versions") or {} for m in prov.models}
        data = public.scrub(manifest.build_manifest(stage, entries, config_files, prov.summaries, generated_with,
                                                    command_line()))
        with atomic_open(stage / manifest.MANIFEST_NAME) as f:  # last: a folder with a manifest is whole
            f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return Built(output, items, prov, folder.placement(items), left_out)


def default_name(prov: provenance.Provenance) -> str:
    step0 = prov.step("decontaminate") or {}
    source = step0.get("input_file") or next((m.get("input_file") for m in prov.models if m.get("input_file")), None)
    return f"Math critique data from {card.base_name(source)}" if source else "Math critique data"
