"""The verl training command of docs/training.md, read from it, and verl's own trainer config composed
with exactly its overrides (hydra, from the installed verl package, as ``main_ppo`` does)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "training.md"
SECTION = "## Train a critic with verl"


def readme_command() -> list[str]:
    """The arguments after ``python -m verl.trainer.main_ppo`` in the doc, ``$PWD``/``$MODEL`` unexpanded."""
    text = DOC.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.find("\n## ", 1)]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if "verl.trainer.main_ppo" in b)
    line = next(s for s in block.replace("\\\n", " ").splitlines() if "verl.trainer.main_ppo" in s)
    args = shlex.split(line)
    return args[args.index("verl.trainer.main_ppo") + 1:]


def readme_overrides(model: str | os.PathLike, root: Path = ROOT) -> list[str]:
    """The doc's overrides as the shell would pass them, run in ``root`` with ``MODEL=model``."""
    return [a.replace("$PWD", str(root)).replace("$MODEL", str(model)) for a in readme_command()]


def compose_readme_config(model: str | os.PathLike, extra: list[str] | tuple = (), root: Path = ROOT):
    """verl 0.9.1's ``ppo_trainer`` config with the doc's overrides (and ``extra``)."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=[*readme_overrides(model, root), *extra])
