"""What goes into a backend and what comes out, and the interface both backends share.

A ``Request`` is one prompt (a plain ``prompt`` string, sent as a completion) or one
conversation (``messages``, sent as a chat completion) with its ``Sampling``; the
caller names it with a ``key`` of its own, which comes back on its ``Completion``.

A ``Backend`` takes requests with ``submit`` (never blocking on generation) and
hands back finished ones with ``wait``, in the order they finish. It is driven
from one thread, the caller's: ``cft.inference.loop.drive`` keeps it full.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from cft.common.errors import CftError


class BackendError(CftError):
    """A backend cannot go on: an engine that died, a server that stayed down, a request refused."""


@dataclass(frozen=True)
class Sample:
    text: str
    finish_reason: str  # "stop" or "length"
    num_tokens: int | None  # None only where a server reports no per-sample count (a hosted API, n > 1)


@dataclass(frozen=True)
class Sampling:
    """The sampling settings of a request. ``seed``: per request, honoured by the server backend only
    (the local one samples with its engine seed, see ``cft.inference.local``). ``extra``: more settings by
    name (``top_k``, ``min_p``, ...), passed to vLLM's ``SamplingParams`` (local) and sent in the request
    body (server: vLLM's server takes the same names)."""
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    key: Hashable
    prompt: str | None = None
    messages: list[dict] | None = None
    sampling: Sampling = Sampling()

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError(f"request {self.key!r}: give exactly one of prompt and messages")


@dataclass(frozen=True)
class Completion:
    key: Hashable
    samples: list[Sample]
    prompt_tokens: int | None = None  # None where the backend does not report it
    output_tokens: int | None = None


class Backend(ABC):
    """An inference engine with requests in flight. Use from one thread; ``close`` (or ``with``) when done."""

    @abstractmethod
    def submit(self, request: Request) -> None:
        """Start ``request``; returns at once."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[Completion]:
        """The requests finished since the last call: blocks until at least one is, or ``timeout`` seconds
        pass (then possibly none), or nothing is in flight. Raises ``BackendError`` on a failure it cannot
        get past."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Requests submitted and not yet returned by ``wait``."""

    @property
    @abstractmethod
    def sequences_in_flight(self) -> int:
        """Sequences (samples) being generated or queued, for traces of slot use."""

    @property
    @abstractmethod
    def capacity(self) -> int | None:
        """Sequences the engine runs at once (vLLM's ``max_num_seqs``), None where not known."""

    @abstractmethod
    def describe(self) -> dict:
        """What a chunk's metadata records about the backend (never a credential)."""

    def prefix_cache(self) -> dict | None:
        """``{"queries": tokens looked up, "hits": tokens found}`` in the engine's prefix cache so far, where the
        backend can tell (a local engine whose stats are on); None elsewhere."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Drop what is in flight and release the engine or connections; safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
