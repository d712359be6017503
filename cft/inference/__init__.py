"""Model inference, the only package that imports vLLM, and the one place a model is run from: every step
that runs one (step 1's solutions, the judge of ``grade_solutions.py``, step 6's teacher) declares its
flags and opens its backend through ``spec``.

- ``spec``: ``BackendSpec`` (a model's backend flags, declared once, with a role prefix where a step
  runs several models), ``add_backend_arguments``, ``open_backend`` over the registry of kinds
  (``BACKENDS``), ``request_seed`` (the one seed rule) and ``default_max_in_flight``.
- ``types``: ``Request`` (a prompt or chat messages, with its ``Sampling``), ``Completion``,
  ``Sample``, the ``Backend`` interface and ``BackendError``.
- ``local``: ``LocalBackend``, an in-process vLLM engine (imports vLLM when built).
- ``server``: ``ServerBackend``, OpenAI-compatible HTTP servers, with retries.
- ``loop``: ``drive``, which keeps a backend full from a lazy stream of requests, and ``Trace``.

A backend is used from one thread: ``submit`` requests, ``wait`` for finished ones. ``drive``
does that for a caller with ``on_done`` called per completion.
"""

from cft.inference.loop import Trace, drive
from cft.inference.spec import BackendSpec, add_backend_arguments, open_backend, request_seed
from cft.inference.types import Backend, BackendError, Completion, Request, Sample, Sampling

__all__ = ["Backend", "BackendError", "BackendSpec", "Completion", "Request", "Sample", "Sampling", "Trace",
           "add_backend_arguments", "drive", "open_backend", "request_seed"]
