"""The evaluation sets step 0 checks by name: where each lives on the Hugging Face Hub and which fields
hold its problem and its answer.

Each entry was checked against the dataset's published card (the URL beside it): the Hub id, the
config, the split(s) and the field names. Nothing of the sets themselves is in this repository:
``cft.curate.eval_sets.load`` reads them with ``datasets.load_dataset`` from the user's cache or the
Hub, or from a local copy (``--against NAME=PATH``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalSetSpec:
    name: str                 # the name step 0 uses (--eval_sets, the summary, the card)
    title: str
    hub_id: str
    config: str | None        # None: the dataset's default config
    splits: tuple[str, ...]
    problem_field: str
    answer_field: str | None  # None: the set has no reference answer (ProcessBench)
    card: str                 # the dataset card the entry was checked against
    note: str = ""

    def where(self) -> str:
        """``hub_id`` with its config and split(s), as the summary and the card show it."""
        return f"{self.hub_id} ({self.config or 'default'}; {', '.join(self.splits)})"


SPECS = (
    # card: config default, split test; eval.yaml: input "problem", target "answer" (500 rows)
    EvalSetSpec("math500", "MATH-500", "HuggingFaceH4/MATH-500", None, ("test",), "problem", "answer",
                "https://huggingface.co/datasets/HuggingFaceH4/MATH-500"),
    # card: features id, problem, solution, answer, url, year; split train (30 rows)
    EvalSetSpec("aime24", "AIME 2024", "HuggingFaceH4/aime_2024", None, ("train",), "problem", "answer",
                "https://huggingface.co/datasets/HuggingFaceH4/aime_2024"),
    # card: test.jsonl as the test split; rows id, problem, answer (30 rows, AIME 2025 I and II)
    EvalSetSpec("aime25", "AIME 2025", "math-ai/aime25", None, ("test",), "problem", "answer",
                "https://huggingface.co/datasets/math-ai/aime25"),
    # card: features id, problem, answer, url; split train (83 rows: AMC 12 2022 and 2023, the set
    # DeepScaleR and others report as "AMC 2023")
    EvalSetSpec("amc23", "AMC 2023", "AI-MO/aimo-validation-amc", None, ("train",), "problem", "answer",
                "https://huggingface.co/datasets/AI-MO/aimo-validation-amc",
                "AMC 12 2022 and 2023, 83 problems"),
    # card: features question, answer; split test (272 rows)
    EvalSetSpec("minerva", "Minerva Math", "math-ai/minervamath", None, ("test",), "question", "answer",
                "https://huggingface.co/datasets/math-ai/minervamath"),
    # card: config OE_TO_maths_en_COMP (open-ended, text-only, English competition maths; 674 rows), split
    # train; fields question, final_answer (a list)
    EvalSetSpec("olympiadbench", "OlympiadBench", "Hothan/OlympiadBench", "OE_TO_maths_en_COMP", ("train",),
                "question", "final_answer", "https://huggingface.co/datasets/Hothan/OlympiadBench",
                "the open-ended English maths problems"),
    # card: configs main and socratic, splits train and test; features question, answer ("... #### 72")
    EvalSetSpec("gsm8k", "GSM8K test", "openai/gsm8k", "main", ("test",), "question", "answer",
                "https://huggingface.co/datasets/openai/gsm8k"),
    # card: config default, splits gsm8k, math, olympiadbench, omnimath (3,400 cases); fields id, generator,
    # problem, steps, final_answer_correct, label: a case has a problem and a solution, no reference answer
    EvalSetSpec("processbench", "ProcessBench", "Qwen/ProcessBench", None,
                ("gsm8k", "math", "olympiadbench", "omnimath"), "problem", None,
                "https://huggingface.co/datasets/Qwen/ProcessBench",
                "its 3,400 cases' problems (GSM8K, MATH, OlympiadBench, Omni-MATH)"),
)
REGISTRY = {spec.name: spec for spec in SPECS}
