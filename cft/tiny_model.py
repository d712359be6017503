"""A tiny random-weight Qwen2 model and tokenizer, built in seconds, for tests and CPU benchmarks.

Real vLLM serves it on CPU: head_dim 64 (hidden 128, 2 heads), since the CPU
attention kernel rejects head_dim 16. Its text is noise, but it goes through
the same engine, sampling, chat template and stop handling as a real model.

So that noise still makes real material for grading and filtering, the
vocabulary holds whole-answer tokens such as `` so \boxed{3}\nQ:``: a random
model samples one every few dozen tokens, which boxes an answer from 0 to 4
and then hits the few-shot template's stop string ``\nQ:``. On problems whose
answers lie in 0-4 it is right about one time in five: mixed results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "What is 1 + 1? The answer is \\boxed{2}.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "We compute \\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}, so x = 5 and y = (1, 3].",
    "The quick brown fox jumps over the lazy dog 0123456789 + - * / = ^ _ { } ( ) [ ] $",
]


ANSWERS = range(5)
ANSWER_LEADS = (" ", " so ", " answer ")


def build_tiny_model(target: str | Path, seed: int = 0, vocab_size: int = 320,
                     max_position_embeddings: int = 2048) -> Path:
    """Write a tiny Qwen2ForCausalLM + byte-level BPE tokenizer (with a ChatML template) to ``target``.

    ``max_position_embeddings``: the context the model's config states (a short one tests the plan's checks).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    target = Path(target)
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    target.mkdir(parents=True, exist_ok=True)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 16, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.add_tokens([f"{lead}\\boxed{{{k}}}\nQ:" for k in ANSWERS for lead in ANSWER_LEADS])
    fast.chat_template = CHATML
    fast.save_pretrained(target)
    vocab_size = -(-len(fast) // 64) * 64

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=vocab_size, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True, eos_token_id=fast.eos_token_id, bos_token_id=fast.eos_token_id,
        torch_dtype="float32",
    )
    Qwen2ForCausalLM(config).save_pretrained(target, safe_serialization=True)
    return target


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("target")
    print(build_tiny_model(ap.parse_args().target))
