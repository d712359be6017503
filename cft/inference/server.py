"""The server backend: one or more OpenAI-compatible servers (vLLM's own, or a hosted API) over HTTP.

An asyncio event loop in a background thread runs every request as a task
with one shared ``httpx.AsyncClient``, so hundreds can be in flight;
``submit`` schedules a task from the caller's thread and ``wait`` takes the
finished ones off a queue. A plain prompt goes to ``/v1/completions``,
messages to ``/v1/chat/completions``, with ``n`` and the request's own seed.
Each attempt goes to the URL with the fewest requests in flight (a URL that
just failed is passed over while it cools down, and a retry tries another
URL first).

Before any work is taken, ``GET /v1/models`` on every URL checks that an
OpenAI-compatible server answers, and names the model: the one it lists
when it lists exactly one, else the ``model`` given. A vLLM server (its
models are ``owned_by: vllm``) is also asked for each sample's token ids,
so every sample has its token count; elsewhere only a request with one
sample has one (the reply's ``usage``).

Faults: a refused or reset connection, a timeout, HTTP 408/409/429/5xx, and
a reply that is not JSON, has no ``choices`` or fewer than ``n``, are retried
with exponential backoff and jitter (``Retry-After`` honoured) until
``timeout_s`` seconds have passed since the request's first failure; then
``wait`` raises a one-line ``BackendError`` naming the URL, the last failure
and how long it tried. Any other HTTP error (a bad request) raises at once
with the server's message. One attempt may take ``request_timeout_s`` (the
longest a reply can legitimately take: the server sends nothing before the
whole completion is done). The API key is read from the environment
variable named by ``api_key_env`` and sent as a bearer token; it never
appears in a message, and credentials in a URL are dropped.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import queue
import random
import re
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from cft.inference.types import Backend, BackendError, Completion, Request, Sample

RETRY_STATUS = (408, 409, 429)  # and every 5xx
BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 30.0
MAX_LISTED_MODELS = 20


class _Retryable(Exception):
    """One failed attempt worth retrying; its text says what failed."""

    def __init__(self, failure: str, retry_after: float | None = None):
        super().__init__(failure)
        self.retry_after = retry_after


def base_url(url: str) -> str:
    """``url`` without credentials, a trailing slash or ``/v1``: ``http://host:port[/prefix]``."""
    url = re.sub(r"^([a-z][a-z0-9+.-]*://)?[^/]*@", r"\1", url.strip(), flags=re.I)  # drop user:password@
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"{url}: not an http(s) server URL (such as http://127.0.0.1:8000)")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path.removesuffix('/v1')}"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _failure(e: httpx.RequestError) -> str:
    return _one_line(f"{type(e).__name__}: {e}") if str(e) else type(e).__name__


def _server_message(r: httpx.Response) -> str:
    """The error message in a reply's body ({"error": {"message": ...}} or {"message": ...}), else its text."""
    try:
        body = r.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        message = err.get("message", err) if isinstance(err, dict) else err
    except ValueError:
        message = r.text
    return _one_line(str(message)) or r.reason_phrase


def _retry_after(r: httpx.Response) -> float | None:
    value = r.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _backoff(attempt: int) -> float:
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** attempt)
    return delay / 2 + random.uniform(0, delay / 2)


class ServerBackend(Backend):
    def __init__(self, urls: str | Sequence[str], *, api_key_env: str | None = None, model: str | None = None,
                 timeout_s: float = 300.0, request_timeout_s: float = 1800.0, connect_timeout_s: float = 10.0):
        """``urls``: base URLs (``http://host:port`` or ``.../v1``); ``model``: the served-model name, needed
        where a server lists several; ``timeout_s``: how long a failing request is retried."""
        self.urls = list(dict.fromkeys(base_url(u) for u in ([urls] if isinstance(urls, str) else urls)))
        if not self.urls:
            raise BackendError("no server URL given")
        self._key = None
        if api_key_env is not None:
            self._key = os.environ.get(api_key_env)
            if not self._key:
                raise BackendError(f"${api_key_env} is not set (the API key for {', '.join(self.urls)})")
        headers = httpx.Headers({"Authorization": f"Bearer {self._key}"} if self._key else {})  # repr: [secure]
        self.timeout_s = timeout_s
        self.model, self.vllm = self._preflight(model, headers, connect_timeout_s)

        self._client = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(request_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None))
        self._busy = dict.fromkeys(self.urls, 0)  # attempts under way per URL (event loop thread only)
        self._cool_until = dict.fromkeys(self.urls, 0.0)
        self._finished: queue.Queue = queue.Queue()  # futures of finished requests, for wait()
        self._in_flight = 0
        self._sequences = 0
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cft-inference-server", daemon=True)
        self._thread.start()

    # --- before any work ---------------------------------------------------------------------

    def _preflight(self, model: str | None, headers: httpx.Headers, timeout_s: float) -> tuple[str, bool]:
        """The model's name, and whether every server is vLLM; raises if a server is not up and serving it."""
        vllm = True
        with httpx.Client(headers=headers, timeout=timeout_s) as client:
            for url in self.urls:
                listed = self._list_models(client, url)
                names = [m["id"] for m in listed]
                if model is None and len(names) != 1:
                    shown = ", ".join(names[:MAX_LISTED_MODELS]) + (" ..." if len(names) > MAX_LISTED_MODELS else "")
                    raise BackendError(f"{url} serves {len(names)} models ({shown}); name the one to use")
                model = model or names[0]
                if model not in names:
                    raise BackendError(f"{url} does not serve {model!r}; it serves {', '.join(names)}")
                vllm = vllm and listed[names.index(model)].get("owned_by") == "vllm"
        return model, vllm

    def _list_models(self, client: httpx.Client, url: str) -> list[dict]:
        try:
            r = client.get(f"{url}/v1/models")
        except httpx.RequestError as e:
            raise BackendError(self._scrub(f"{url}: no server answers ({_failure(e)})")) from None
        if r.status_code in (401, 403):
            raise BackendError(self._scrub(f"{url}: refused the API key (HTTP {r.status_code}: "
                                           f"{_server_message(r)})"))
        if r.status_code != 200:
            raise BackendError(self._scrub(f"{url}: not an OpenAI-compatible server (GET /v1/models: HTTP "
                                           f"{r.status_code} {_server_message(r)})"))
        try:
            listed = r.json()["data"]
            if all(isinstance(m["id"], str) for m in listed):
                return listed
        except (ValueError, KeyError, TypeError):
            pass
        raise BackendError(f"{url}: not an OpenAI-compatible server (GET /v1/models gave no model list)")

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    # --- the event loop's side ---------------------------------------------------------------

    def _pick(self, avoid: str | None) -> str:
        now = time.monotonic()
        return min(self.urls, key=lambda u: (u == avoid, self._cool_until[u] > now, self._busy[u]))

    async def _run(self, request: Request) -> Completion:
        chat = request.messages is not None
        path = "/v1/chat/completions" if chat else "/v1/completions"
        s = request.sampling
        body = {"model": self.model, "messages" if chat else "prompt": request.messages if chat else request.prompt,
                "n": s.n, "temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens}
        if s.stop:
            body["stop"] = list(s.stop)
        if s.seed is not None:
            body["seed"] = s.seed
        if self.vllm:
            body["return_token_ids"] = True
        first_failure, url, attempt = None, None, 0
        while True:
            url = self._pick(avoid=url)
            self._busy[url] += 1
            try:
                return await self._attempt(url, path, body, request)
            except _Retryable as failure:
                now = time.monotonic()
                first_failure = first_failure or now
                tried = now - first_failure
                if tried >= self.timeout_s:
                    raise BackendError(self._scrub(
                        f"{url}: gave up on request {request.key!r} after {tried:.0f} s of retries "
                        f"({attempt + 1} attempts); last failure: {failure}")) from None
                delay = min(self.timeout_s - tried,
                            _backoff(attempt) if failure.retry_after is None else failure.retry_after)
                self._cool_until[url] = now + delay
            finally:
                self._busy[url] -= 1
            attempt += 1
            await asyncio.sleep(delay)

    async def _attempt(self, url: str, path: str, body: dict, request: Request) -> Completion:
        try:
            r = await self._client.post(url + path, json=body)
        except httpx.RequestError as e:  # refused, reset, timed out
            raise _Retryable(_failure(e)) from None
        if r.status_code in RETRY_STATUS or r.status_code >= 500:
            raise _Retryable(f"HTTP {r.status_code}: {_server_message(r)}", _retry_after(r))
        if not r.is_success:
            raise BackendError(self._scrub(f"{url}: HTTP {r.status_code} to POST {path} for request "
                                           f"{request.key!r}: {_server_message(r)}"))
        n = request.sampling.n
        try:
            reply = r.json()
            choices = sorted(reply["choices"], key=lambda c: c["index"])[:n]
            texts = [(c["message"]["content"] or "") if request.messages is not None else c["text"]
                     for c in choices]
            usage = reply.get("usage") or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise _Retryable(f"malformed reply (HTTP {r.status_code}, {len(r.content)} bytes, "
                             "not JSON with choices)") from None
        if len(choices) < n:
            raise _Retryable(f"reply has {len(choices)} choices, asked for {n}")
        output_tokens = usage.get("completion_tokens")
        samples = []
        for c, text in zip(choices, texts):
            ids = c.get("token_ids")
            samples.append(Sample(text, "length" if c.get("finish_reason") == "length" else "stop",
                                  len(ids) if isinstance(ids, list) else output_tokens if n == 1 else None))
        return Completion(request.key, samples, usage.get("prompt_tokens"), output_tokens)

    # --- the caller's side -------------------------------------------------------------------

    def submit(self, request: Request) -> None:
        future = asyncio.run_coroutine_threadsafe(self._run(request), self._loop)
        future.add_done_callback(self._finished.put)
        self._in_flight += 1
        self._sequences += request.sampling.n

    def wait(self, timeout: float | None = None) -> list[Completion]:
        if not self._in_flight:
            return []
        try:
            futures = [self._finished.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._finished.empty():
            futures.append(self._finished.get_nowait())
        done = []
        for future in futures:
            completion = future.result()  # raises a BackendError that ended the request
            self._in_flight -= 1
            self._sequences -= len(completion.samples)
            done.append(completion)
        return done

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def sequences_in_flight(self) -> int:
        return self._sequences  # requested samples of the requests in flight: the server does not say more

    @property
    def capacity(self) -> None:
        return None

    def describe(self) -> dict:
        return {"backend": "server", "model": self.model, "urls": list(self.urls), "per_request_seeds": True,
                "vllm": self.vllm}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._client.aclose()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
