"""What ``run_full_pipeline.sh`` asks of Python: model names, chunk counts, and the closing summary.

    python -m cft.pipeline model NAME [--register_model SPEC ...]   -> "<name> <alias>"
    python -m cft.pipeline chunks INPUT CHUNK_SIZE FOLDER MODEL     -> "<chunk files there> <chunks in the run>"
    python -m cft.pipeline field SUMMARY_JSON KEY                   -> one value of a step's summary
    python -m cft.pipeline skipped SUMMARY_JSON STEP LABEL TEXT     -> a summary for a step not run
    python -m cft.pipeline summary OUTPUT_JSON WALL_S SUMMARY_JSON ...

The closing summary prints, step by step in the order given, the lines each step marked for it
(``cft.common.summary.Summary``'s ``headline``), and joins the steps' JSON into OUTPUT_JSON as
``{"steps": {<name>: {...}}, "outputs": [...], "wall_s": ...}`` (``<name>``: the summary file's
name without ``summary_``). It knows no step's keys.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import orjson

from cft.common import cli
from cft.common.errors import CftError
from cft.common.summary import print_rows, write_summary_json


def pipeline_summary(files: list[str | os.PathLike], output: str | os.PathLike, wall_s: float) -> dict:
    steps: dict[str, dict] = {}
    rows: list[tuple[str, object]] = []
    for path in map(Path, files):
        if not path.exists():
            continue
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise CftError(f"{path}: not a step summary ({e})") from None
        steps[path.stem.removeprefix("summary_")] = data
        rows += [(str(label), text) for label, text in data.get("headline", [])]
    rows.append(("wall time", f"{wall_s:.0f} s"))
    outputs = [p for data in steps.values() for p in data.get("outputs", [])]
    data = {"steps": steps, "outputs": outputs, "wall_s": round(wall_s, 1), "headline": [list(r) for r in rows]}
    print_rows("pipeline", rows)
    write_summary_json(output, data)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m cft.pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("model")
    m.add_argument("name")
    m.add_argument("--register_model", action="append", default=[])
    c = sub.add_parser("chunks")
    for name in ("input", "chunk_size", "folder", "model"):
        c.add_argument(name)
    f = sub.add_parser("field")
    f.add_argument("summary")
    f.add_argument("key")
    k = sub.add_parser("skipped")
    for name in ("summary", "step", "label", "text"):
        k.add_argument(name)
    s = sub.add_parser("summary")
    s.add_argument("output")
    s.add_argument("wall_s", type=float)
    s.add_argument("files", nargs="*")
    args = ap.parse_args()

    if args.command == "model":
        from cft.records.models import get_model, register_from_args

        register_from_args(args)
        spec = get_model(args.name)
        print(spec.name, spec.alias)
    elif args.command == "chunks":
        from cft.records.chunks import list_chunk_files, num_chunks
        from cft.records.problems import load_rows

        total = num_chunks(len(load_rows(args.input)), int(args.chunk_size))
        print(len([c for c in list_chunk_files(args.folder, args.model) if c < total]), total)
    elif args.command == "field":
        print(orjson.loads(Path(args.summary).read_bytes())[args.key])
    elif args.command == "skipped":
        write_summary_json(args.summary, {"step": args.step, "skipped": True, "outputs": [],
                                          "headline": [[args.label, args.text]]})
    else:
        pipeline_summary(args.files, args.output, args.wall_s)


if __name__ == "__main__":
    cli.run(main)
