"""The evaluation sets step 0 checks: a registry of the field's sets by name (``registry``), read from the
Hugging Face Hub or a local copy (``load``). No set's text ships with the package."""

from cft.curate.eval_sets.registry import REGISTRY, EvalSetSpec

__all__ = ["REGISTRY", "EvalSetSpec"]
