"""Model inference, the only package that imports vLLM: the backends shared by step 1 (sampling
solutions), the LLM judge of ``grade_solutions.py`` and step 6 (a teacher writing critiques).

- ``types``: ``Request`` (a prompt or chat messages, with its ``Sampling``), ``Completion``,
  ``Sample``, the ``Backend`` interface and ``BackendError``.
- ``local``: ``LocalBackend``, an in-process vLLM engine (imports vLLM when built).
- ``server``: ``ServerBackend``, OpenAI-compatible HTTP servers, with retries.
- ``loop``: ``drive``, which keeps a backend full from a lazy stream of requests, and ``Trace``.

A backend is used from one thread: ``submit`` requests, ``wait`` for finished ones. ``drive``
does that for a caller with ``on_done`` called per completion.
"""

from cft.inference.local import LocalBackend
from cft.inference.loop import Trace, drive
from cft.inference.server import ServerBackend
from cft.inference.types import Backend, BackendError, Completion, Request, Sample, Sampling

__all__ = ["Backend", "BackendError", "Completion", "LocalBackend", "Request", "Sample", "Sampling",
           "ServerBackend", "Trace", "drive"]
