"""The verl training commands of docs/training.md, read from it, and verl's own trainer configs composed
with exactly their overrides (hydra, from the installed verl package, as ``main_ppo`` and ``sft_trainer`` do):
the GRPO command (``ppo_trainer``) and step 6's SFT command (``sft_trainer_engine``)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "training.md"
SECTION = "## Train a critic with verl"
SFT_SECTION = "### Fine-tune a critic on the teacher's critiques with verl"
GRPO = ("verl.trainer.main_ppo", SECTION, "ppo_trainer")  # (module, section of the doc, verl's config)
SFT = ("verl.trainer.sft_trainer", SFT_SECTION, "sft_trainer_engine")


def readme_command(command: tuple[str, str, str] = GRPO) -> list[str]:
    """The arguments after ``-m <module>`` in the doc's section, ``$PWD``/``$MODEL`` unexpanded."""
    module, heading, _ = command
    text = DOC.read_text()
    section = text[text.index(heading):]
    section = section[:section.find("\n## ", 1)]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if module in b)
    line = next(s for s in block.replace("\\\n", " ").splitlines() if module in s)
    args = shlex.split(line)
    return args[args.index(module) + 1:]


def readme_overrides(model: str | os.PathLike, root: Path = ROOT, command: tuple[str, str, str] = GRPO) -> list[str]:
    """The doc's overrides as the shell would pass them, run in ``root`` with ``MODEL=model``."""
    return [a.replace("$PWD", str(root)).replace("$MODEL", str(model)) for a in readme_command(command)]


def compose_readme_config(model: str | os.PathLike, extra: list[str] | tuple = (), root: Path = ROOT,
                          command: tuple[str, str, str] = GRPO):
    """verl 0.9.1's config of ``command`` (default: ``ppo_trainer``) with the doc's overrides (and ``extra``)."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name=command[2], overrides=[*readme_overrides(model, root, command), *extra])
