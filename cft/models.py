"""The model registry and the prompt templates.

Two models fill the pipeline's two slots. Each has a short name (used in chunk
file names), an alias (used in folder and merged-file names and in the
filtered rows' field names), a Hugging Face id, a default prompt template and
context limits. ``--model_path`` points a short name at a local folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from cft.errors import CftError

COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHAT_STOPS = ("<|im_end|>", "<|endoftext|>")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    alias: str
    hf_id: str
    prompt_template: str
    max_model_len: int
    max_tokens: int


MODELS: dict[str, ModelSpec] = {
    "qwen-2.5-math-7b": ModelSpec(
        "qwen-2.5-math-7b", "qwen25", "Qwen/Qwen2.5-Math-7B", "qwen25-math-cot", 4096, 3072
    ),
    "qwen3-4b-base": ModelSpec(
        "qwen3-4b-base", "qwen3", "Qwen/Qwen3-4B-Base", "qwen3-base-chat", 16384, 8192
    ),
}
ALIASES = {spec.alias: name for name, spec in MODELS.items()}


def get_model(name: str) -> ModelSpec:
    """Look a model up by short name or alias (``qwen25``, ``qwen3``)."""
    spec = MODELS.get(ALIASES.get(name, name))
    if spec is None:
        known = ", ".join(f"{n} ({s.alias})" for n, s in MODELS.items())
        raise CftError(f"unknown model {name!r}; known models: {known}")
    return spec


# --- prompt templates -------------------------------------------------------

FEW_SHOT = (
    "Q: What is 1 + 1?\nA: 1 + 1 = 2. The answer is \\boxed{2}.\n\n"
    "Q: What is 3 + 4?\nA: 3 + 4 = 7. The answer is \\boxed{7}.\n\n"
    "Q: What is 6 - 2?\nA: 6 - 2 = 4. The answer is \\boxed{4}.\n\n"
)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    description: str
    chat: bool  # rendered with the tokenizer's chat template
    stop: tuple[str, ...]


TEMPLATES: dict[str, PromptTemplate] = {
    "qwen25-math-cot": PromptTemplate(
        "qwen25-math-cot",
        "Qwen2.5-Math chain-of-thought: system prompt asking for a boxed answer, "
        "question as the user turn, through the tokenizer's chat template",
        True,
        CHAT_STOPS,
    ),
    "qwen3-base-chat": PromptTemplate(
        "qwen3-base-chat",
        "question plus the boxed-answer instruction as the user turn, through the "
        "tokenizer's chat template",
        True,
        CHAT_STOPS,
    ),
    "from-input": PromptTemplate(
        "from-input",
        "the row's own prompt content, verbatim (the first pipeline's behaviour)",
        False,
        CHAT_STOPS,
    ),
    "fewshot-boxed": PromptTemplate(
        "fewshot-boxed",
        "raw 3-shot 'Q: ... A: ... \\boxed{}' prompt for small base or instruct models",
        False,
        ("\nQ:", "\n\n"),
    ),
}


def get_template(name: str) -> PromptTemplate:
    template = TEMPLATES.get(name)
    if template is None:
        raise CftError(f"unknown prompt template {name!r}; known: {', '.join(TEMPLATES)}")
    return template


def chat_messages(template: str, question: str) -> list[dict]:
    """The chat messages of a chat template for one question."""
    if template == "qwen25-math-cot":
        return [
            {"role": "system", "content": COT_INSTRUCTION},
            {"role": "user", "content": question},
        ]
    if template == "qwen3-base-chat":
        return [{"role": "user", "content": f"{question}\n{COT_INSTRUCTION}"}]
    raise CftError(f"prompt template {template!r} is not a chat template")


def raw_prompt(template: str, question: str, row_prompt: str | None, where: str) -> str:
    """The prompt text of a raw (non-chat) template; ``where`` names the row in errors."""
    if template == "fewshot-boxed":
        return f"{FEW_SHOT}Q: {question}\nA:"
    if template == "from-input":
        if row_prompt is None:
            raise CftError(f"{where}: prompt template from-input needs the row's prompt field")
        return row_prompt
    raise CftError(f"prompt template {template!r} is not a raw template")
