"""The prompt templates of step 1, and rendering a problem into the prompt a model is sent.

A chat template is rendered with the tokenizer's own chat template (``apply_chat_template`` with a
generation prompt), so a model gets the format it was trained on; a raw template is plain text.
Each template also names the stop strings its model needs (base models otherwise run on to
``max_tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cft.common.errors import CftError

COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHAT_STOPS = ("<|im_end|>", "<|endoftext|>")
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


def load_tokenizer(model_path: str, cached_only: bool = False):
    """The model's tokenizer; a typo'd path or an unreachable hub id is one line, before any GPU work
    (``cft.common.hub``). ``cached_only``: None where it is neither a local folder nor in the Hub cache."""
    from transformers import AutoTokenizer

    from cft.common.hub import from_hub

    return from_hub(AutoTokenizer.from_pretrained, model_path, "tokenizer", cached_only=cached_only)


def render_prompts(template: str, problems, tokenizer, model_path: str, where: str) -> list[str]:
    """The prompt of each problem (``cft.records.problems.Problem``) under ``template``."""
    spec = get_template(template)
    if not spec.chat:
        return [raw_prompt(template, p.question, p.prompt, f"{where}: row {p.index}") for p in problems]
    if not getattr(tokenizer, "chat_template", None):
        raise CftError(f"{model_path}: the tokenizer has no chat template, which prompt template "
                       f"{template} needs; pick a raw one (--prompt_template fewshot-boxed or from-input)")
    return [tokenizer.apply_chat_template(chat_messages(template, p.question), tokenize=False,
                                          add_generation_prompt=True) for p in problems]
