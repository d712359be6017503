"""The model registry: which models step 1 samples from, and how each is named in files.

A model has a short name (in chunk file names and ``metadata.model``), an alias (in folder and
merged-file names and in the filtered rows' field names: ``<alias>_solutions``), its weights (a
Hugging Face id, or a local folder), a default prompt template (``cft.records.prompts``) and
context limits. Two models are built in and are the pipeline's default; any number more can be
registered from the command line, without editing code:

    --register_model name=r1-distill-1.5b,alias=r1d,weights=/models/R1-Distill-1.5B,template=qwen3-base-chat

(optional keys: ``max_model_len``, the engine's context, default the model's own; ``max_tokens``
per solution, default 3072). ``--model_path`` still points a model at other weights for one run.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from cft.common.errors import CftError
from cft.records.prompts import TEMPLATES


@dataclass(frozen=True)
class ModelSpec:
    name: str
    alias: str
    weights: str  # a Hugging Face id or a local folder
    prompt_template: str
    max_model_len: int | None  # None: the model's own context
    max_tokens: int


MODELS: dict[str, ModelSpec] = {}
DEFAULT_MODELS = ("qwen-2.5-math-7b", "qwen3-4b-base")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SPEC_KEYS = ("name", "alias", "weights", "template", "max_model_len", "max_tokens")
DEFAULT_MAX_TOKENS = 3072


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry; the same spec twice is fine, a clash of name or alias is an error."""
    for what, value in (("name", spec.name), ("alias", spec.alias)):
        if not _NAME.fullmatch(value):
            raise CftError(f"model {what} {value!r}: use letters, digits, '_', '.' and '-' only "
                           "(it names files and fields)")
    if spec.prompt_template not in TEMPLATES:
        raise CftError(f"model {spec.name}: unknown prompt template {spec.prompt_template!r}; "
                       f"known: {', '.join(TEMPLATES)}")
    for other in MODELS.values():
        if other != spec and (other.name in (spec.name, spec.alias) or other.alias in (spec.name, spec.alias)):
            raise CftError(f"model {spec.name} ({spec.alias}) clashes with the registered {other.name} "
                           f"({other.alias}); pick another name and alias")
    MODELS[spec.name] = spec
    return spec


register(ModelSpec("qwen-2.5-math-7b", "qwen25", "Qwen/Qwen2.5-Math-7B", "qwen25-math-cot", 4096, 3072))
register(ModelSpec("qwen3-4b-base", "qwen3", "Qwen/Qwen3-4B-Base", "qwen3-base-chat", 16384, 8192))


def get_model(name: str) -> ModelSpec:
    """Look a model up by short name or alias (``qwen25``, ``qwen3``)."""
    spec = find_model(name)
    if spec is None:
        known = ", ".join(f"{n} ({s.alias})" for n, s in MODELS.items())
        raise CftError(f"unknown model {name!r}; known models: {known} (or add one with --register_model)")
    return spec


def find_model(name: str) -> ModelSpec | None:
    """The model of this short name or alias, or None."""
    return MODELS.get(name) or next((s for s in MODELS.values() if s.alias == name), None)


def parse_spec(text: str) -> ModelSpec:
    """``name=N,alias=A,weights=W,template=T[,max_model_len=L][,max_tokens=M]`` as a ModelSpec."""
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in _SPEC_KEYS:
            raise CftError(f"--register_model {text!r}: {part!r} is not KEY=VALUE with KEY one of "
                           f"{', '.join(_SPEC_KEYS)}")
        fields[key.strip()] = value.strip()
    missing = [k for k in ("name", "alias", "weights", "template") if not fields.get(k)]
    if missing:
        raise CftError(f"--register_model {text!r}: missing {', '.join(missing)}")
    numbers = {}
    for key in ("max_model_len", "max_tokens"):
        if key in fields:
            try:
                numbers[key] = int(fields[key])
            except ValueError:
                raise CftError(f"--register_model {text!r}: {key} must be a whole number") from None
    return ModelSpec(fields["name"], fields["alias"], fields["weights"], fields["template"],
                     numbers.get("max_model_len"), numbers.get("max_tokens", DEFAULT_MAX_TOKENS))


REGISTER_HELP = ("add a model to the registry for this run (repeatable): "
                 "name=N,alias=A,weights=HF_ID_OR_PATH,template=T[,max_model_len=L][,max_tokens=M]")


def add_register_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--register_model", action="append", default=[], metavar="SPEC", help=REGISTER_HELP)


def register_from_args(args: argparse.Namespace) -> list[ModelSpec]:
    """Register every ``--register_model`` of a parsed command line."""
    return [register(parse_spec(text)) for text in getattr(args, "register_model", None) or []]


def model_field_alias(field: str) -> str | None:
    """``qwen25_solutions`` -> ``qwen25``: the alias of a filtered row's solutions field, else None."""
    return field.removesuffix("_solutions") if field.endswith("_solutions") and field != "_solutions" else None


def source_name(alias: str) -> str:
    """The model name a filtered row's ``<alias>_solutions`` came from: the registry's, else the alias."""
    spec = find_model(alias)
    return spec.name if spec is not None else alias


def alias_map(items: list[str], flag: str) -> dict[str, str]:
    """``["qwen25=path", ...]`` (``ALIAS=VALUE`` flags) as ``{"qwen25": "path"}``; an alias given twice is an error."""
    out: dict[str, str] = {}
    for item in items:
        alias, sep, value = item.partition("=")
        if not sep or not alias or not value:
            raise CftError(f"{flag} {item!r}: expected ALIAS=VALUE")
        spec = find_model(alias)
        alias = spec.alias if spec is not None else alias
        if alias in out:
            raise CftError(f"{flag}: {alias} is given twice")
        out[alias] = value
    return out
