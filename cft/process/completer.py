"""The completer: which model continues each model's solutions, with which prompt, and how far.

By default each solution is continued by the model that wrote it (``--completer_model`` unset, no
``--completer_server_url``): the weights of ``--model_path ALIAS=PATH``, else the registry's, in a local vLLM
engine. ``--completer_model`` names one model for every solution (with a server, the name it serves);
``--completer_server_url`` sends every continuation to OpenAI-compatible servers.

A continuation's prompt is the generator's own step 1 prompt for the problem (its prompt template,
``--completer_template`` or the model's registered one, rendered by ``cft.records.prompts`` as step 1 renders
it, with the completer's tokenizer where the template is a chat one) followed by the solution's first ``i``
steps as written (``cft.process.split.prefix_text``). Every prompt of one solution starts with the same text,
so vLLM's prefix cache serves the shared part: the problem's prompt and the steps before. The template's stop
strings end each continuation, as they ended the solution.

A continuation may take ``--completer_max_tokens`` tokens, less where the prompt leaves less room in the
completer's context (its ``max_model_len``, known once its config is read): a long prefix never makes vLLM
refuse a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as with_

from cft.common.errors import CftError
from cft.generate.context_fit import resolve_max_model_len
from cft.inference import BackendSpec, Sampling
from cft.process.inputs import Item
from cft.process.split import prefix_text
from cft.records.models import find_model
from cft.records.problems import Problem
from cft.records.prompts import get_template, load_tokenizer, render_prompts


@dataclass
class Completer:
    alias: str
    spec: BackendSpec
    model: str  # what the chunks record: the weights, or the served model's name
    weights: str  # where the tokenizer and the context come from
    template: str
    sampling: Sampling
    tokenizer: object = None
    max_model_len: int | None = None
    _prompts: dict[int, str] = field(default_factory=dict)  # problem index -> its rendered prompt

    def record(self) -> dict:
        s = self.sampling
        return {"n": s.n, "temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens,
                "stop": list(s.stop), "seed": self.spec.seed}

    def load(self, items: list[Item]) -> None:
        """The tokenizer and the context, then every problem's prompt (one line where the weights cannot be read)."""
        if self.tokenizer is not None:
            return
        registered = find_model(self.alias)
        self.max_model_len = resolve_max_model_len(self.weights, self.spec.max_model_len,
                                                   registered.max_model_len if registered else None)
        self.tokenizer = load_tokenizer(self.weights)
        problems = list({i.index: Problem(i.index, i.question, i.ground_truth, i.row_prompt) for i in items}.values())
        rendered = render_prompts(self.template, problems, self.tokenizer, self.weights, "the filtered file")
        self._prompts = {p.index: text for p, text in zip(problems, rendered)}

    def request_sampling(self, prompt: str, seed: int | None) -> Sampling:
        """This continuation's sampling: the room its prompt leaves, and its own seed where one is sent."""
        room = self.sampling.max_tokens
        if self.max_model_len is not None and self.tokenizer is not None:
            room = min(room, self.max_model_len - len(self.tokenizer(prompt)["input_ids"]))
        return with_(self.sampling, max_tokens=max(1, room), seed=seed)

    def prompt(self, item: Item, prefix: int) -> str:
        return self._prompts[item.index] + prefix_text(item.text, list(item.spans), prefix)


def completers(args, aliases: list[str], weights_of: dict[str, str], sampling: Sampling,
               engine_args: dict | None = None) -> dict[str, Completer]:
    """The completer of each alias from the flags (see the module's doc); cheap: nothing is loaded."""
    out = {}
    for alias in aliases:
        registered = find_model(alias)
        template = args.completer_template or (registered.prompt_template if registered else None)
        if template is None:
            raise CftError(f"{alias}: not a registered model, so its prompt template is not known; pass "
                           "--completer_template or --register_model")
        get_template(template)
        weights = args.completer_model or weights_of.get(alias) or (registered.weights if registered else None)
        if weights is None:
            raise CftError(f"{alias}: no weights to continue its solutions with; pass --model_path {alias}=PATH or "
                           "--completer_model")
        spec = BackendSpec.from_args(args, "completer", model=weights, engine_args=dict(engine_args or {}))
        if spec.kind == "server":
            spec.served_model_name = spec.served_model_name or args.completer_model
        stop = tuple(get_template(template).stop)
        out[alias] = Completer(alias, spec, args.completer_model or weights, weights, template,
                               with_(sampling, stop=stop))
    return out
