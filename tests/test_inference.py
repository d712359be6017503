"""The inference backends (cft.inference) against real components: an in-process vLLM engine and a vLLM
OpenAI server on the tiny model, with a fault-injecting proxy (tests/servers.py) in front of the server.

One engine serves the local tests and one server the server tests (each start costs ~25 s). The server
requires an API key, a sentinel string read from an environment variable; no test may see it in an
exception, a ``describe()``, a log record or the process's stdout/stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from servers import FaultProxy, free_port, proxy_process, vllm_server

from cft.common.errors import CftError
from cft.inference import BackendError, Completion, Request, Sampling, Trace, drive
from cft.inference.local import LocalBackend
from cft.inference.server import ServerBackend

KEY_ENV = "CFT_TEST_INFERENCE_KEY"
SENTINEL = "sk-cft-sentinel-5b8e1f0c"
STOP = ("\nQ:",)


@pytest.fixture(autouse=True)
def key_never_shown(capfd, caplog):
    for name in ("httpx", "httpcore", "cft"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    out, err = capfd.readouterr()
    assert SENTINEL not in out + err + caplog.text


def one_line(e: BaseException, *must: str) -> None:
    """``e``'s message is one line, shows no credential, and holds each of ``must``."""
    text = str(e)
    assert "\n" not in text and SENTINEL not in text and "user:pw" not in text, text
    for part in must:
        assert part in text, text


def prompts(n: int, sampling: Sampling, pulled: list | None = None):
    """``n`` requests, made lazily; ``pulled`` gets each key as it is taken."""
    for i in range(n):
        if pulled is not None:
            pulled.append(i)
        yield Request(i, prompt=f"What is {i} + {i % 7}?", sampling=sampling)


def check_samples(c: Completion, sampling: Sampling) -> None:
    assert len(c.samples) == sampling.n
    for s in c.samples:
        assert s.finish_reason in ("stop", "length")
        assert 0 < s.num_tokens <= sampling.max_tokens
        assert s.finish_reason == "stop" or s.num_tokens == sampling.max_tokens
    assert c.output_tokens == sum(s.num_tokens for s in c.samples)
    assert c.prompt_tokens > 0


def run_all(backend, requests, max_in_flight: int, **kw) -> dict:
    done: dict = {}

    def on_done(c: Completion) -> None:
        assert c.key not in done, f"{c.key} came back twice"
        done[c.key] = c

    assert drive(backend, requests, max_in_flight, on_done, **kw) is False
    assert backend.in_flight == 0
    return done


# --- the local backend ---------------------------------------------------------------------------

@pytest.fixture(scope="class")
def local(tiny_model):
    """One engine for the class's tests, shut down before the server tests start theirs."""
    with LocalBackend(str(tiny_model), max_model_len=512, enforce_eager=True) as backend:
        yield backend


class TestLocal:
    def test_every_request_comes_back_once_with_n_samples(self, local):
        sampling = Sampling(n=3, temperature=1.0, max_tokens=24, stop=STOP)
        pulled, trace = [], Trace()
        done = run_all(local, prompts(30, sampling, pulled), 7, trace=trace)
        assert sorted(done) == list(range(30)) and pulled == list(range(30))
        for c in done.values():
            check_samples(c, sampling)
        assert {s.finish_reason for c in done.values() for s in c.samples} == {"stop", "length"}
        requests = [r for _, r, _ in trace.points]
        assert max(requests) == 7 and requests[-1] == 0  # kept full, never over max_in_flight
        assert max(seqs for _, _, seqs in trace.points) <= 7 * 3
        assert 0.0 < trace.empty_slot_share(local.capacity) < 1.0

    def test_requests_are_pulled_only_as_room_frees(self, local):
        sampling = Sampling(n=2, max_tokens=16)
        pulled, done = [], []

        def on_done(c: Completion) -> None:
            done.append(c.key)
            assert len(pulled) <= len(done) + 4

        assert drive(local, prompts(12, sampling, pulled), 4, on_done) is False
        assert sorted(done) == list(range(12))

    def test_should_stop_stops_submitting(self, local):
        sampling = Sampling(n=2, max_tokens=32)
        pulled, done = [], []
        stopped = drive(local, prompts(40, sampling, pulled), 4, lambda c: done.append(c.key),
                        should_stop=lambda: len(done) >= 5)
        assert stopped is True
        assert 5 <= len(done) <= len(pulled) <= len(done) + 4 < 40  # the rest never taken
        assert local.in_flight == len(pulled) - len(done)
        assert drive(local, (), 4, lambda c: done.append(c.key)) is False  # collect those still in flight
        assert sorted(done) == sorted(pulled)

    def test_chat_messages_use_the_model_chat_template(self, local, tiny_model):
        from transformers import AutoTokenizer

        messages = [{"role": "user", "content": "What is 2 + 2?"}]
        done = run_all(local, [Request("chat", messages=messages, sampling=Sampling(n=2, max_tokens=8))], 2)
        tok = AutoTokenizer.from_pretrained(tiny_model)
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert done["chat"].prompt_tokens == len(tok(rendered, add_special_tokens=False).input_ids)
        check_samples(done["chat"], Sampling(n=2, max_tokens=8))

    def test_describe_and_refusals(self, local, tiny_model):
        assert local.describe() == {"backend": "local", "model": str(tiny_model), "seed": 0,
                                    "per_request_seeds": False, "max_num_seqs": 256,
                                    "kv_cache_tokens": local.kv_cache_tokens}
        # sequences at once: max_num_seqs, or fewer where the KV cache holds fewer of max_model_len (512) tokens
        assert local.capacity == min(256, local.kv_cache_tokens // 512) > 0
        with pytest.raises(BackendError) as e:
            local.submit(Request("long", prompt="1 + 1 = 2. " * 400))
        one_line(e.value, "'long'", "maximum context length")
        assert local.in_flight == 0

    def test_engine_death_raises(self, local):
        """Last of the class: the engine core process is killed with requests in flight."""
        import psutil

        for request in prompts(16, Sampling(n=4, max_tokens=400)):  # 64 sequences: some are surely still running
            local.submit(request)
        # this engine's core is a child of this process (a server of the session, tiny_server, has its own below it)
        core = [p for p in psutil.Process().children() if p.name().startswith("VLLM::EngineCor")]
        assert len(core) == 1
        core[0].kill()
        t0 = time.monotonic()
        with pytest.raises(BackendError) as e:
            drive(local, (), 16, lambda c: None)
        one_line(e.value, "local vLLM engine", f"process {core[0].pid} exited with code")
        assert time.monotonic() - t0 < 10
        for again in (lambda: local.wait(1), lambda: local.submit(Request("late", prompt="What is 1 + 1?"))):
            with pytest.raises(BackendError, match="exited with code"):
                again()


# --- the server backend --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vllm_url(tiny_model, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, SENTINEL)
        with vllm_server(tiny_model, tmp_path_factory.mktemp("vllm_server") / "server.log", SENTINEL) as url:
            yield url


@pytest.fixture(scope="module")
def server(vllm_url):
    with ServerBackend(f"{vllm_url}/v1/", api_key_env=KEY_ENV) as backend:
        yield backend


def test_server_completions_with_n_and_seeds(server, vllm_url, tiny_model):
    assert server.describe() == {"backend": "server", "model": str(tiny_model), "urls": [vllm_url],
                                 "per_request_seeds": True, "vllm": True}  # the name from /v1/models
    sampling = Sampling(n=3, max_tokens=24, stop=STOP)
    done = run_all(server, (Request(i, prompt=f"What is {i}?", sampling=replace(sampling, seed=i))
                            for i in range(24)), 8)
    assert sorted(done) == list(range(24))
    for c in done.values():
        check_samples(c, sampling)
    seeded = run_all(server, [Request(k, prompt="What is 3?", sampling=Sampling(n=2, max_tokens=16, seed=s))
                              for k, s in (("a", 7), ("b", 7), ("c", 8))], 3)
    texts = {k: [s.text for s in c.samples] for k, c in seeded.items()}
    assert texts["a"] == texts["b"] != texts["c"]  # per-request seeds are honoured


def test_server_chat_messages(server):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}]
    done = run_all(server, [Request(k, messages=messages, sampling=Sampling(n=2, max_tokens=8, seed=k))
                            for k in range(4)], 4)
    for c in done.values():
        check_samples(c, Sampling(n=2, max_tokens=8))


def test_two_urls_spread_by_least_in_flight(vllm_url):
    """A slow and a fast route to the same server: round robin would split 50/50, least in flight sends
    most requests to the fast one, and some to the slow one."""
    with FaultProxy(vllm_url, delay_s=1.0) as slow, FaultProxy(vllm_url) as fast, \
            ServerBackend([slow.url, fast.url], api_key_env=KEY_ENV) as backend:
        done = run_all(backend, prompts(40, Sampling(max_tokens=8)), 4)
    assert sorted(done) == list(range(40))
    assert slow.posts + fast.posts == 40 and 1 <= slow.posts and fast.posts > 3 * slow.posts


def test_a_server_that_is_not_vllm(vllm_url):
    """Models not owned_by vllm (a hosted API): no per-sample token ids are asked for, so only a request with
    one sample has a per-sample count (the reply's usage)."""
    with FaultProxy(vllm_url, owner="someone") as proxy, ServerBackend(proxy.url, api_key_env=KEY_ENV) as backend:
        assert backend.describe()["vllm"] is False
        done = run_all(backend, [Request(n, prompt="What is 1?", sampling=Sampling(n=n, max_tokens=8))
                                 for n in (1, 3)], 2)
    assert done[1].samples[0].num_tokens == done[1].output_tokens > 0
    assert [s.num_tokens for s in done[3].samples] == [None] * 3 and done[3].output_tokens > 0


def test_server_faults_are_retried(vllm_url):
    faults = ["429", "500", "bad_json", "empty", "no_choices", "few_choices", "drop", "slow"]
    sampling = Sampling(n=2, max_tokens=8)
    with FaultProxy(vllm_url, faults, slow_s=3.0) as proxy, \
            ServerBackend(proxy.url, api_key_env=KEY_ENV, request_timeout_s=1.0, timeout_s=30) as backend:
        done = run_all(backend, prompts(12, sampling), 6)
        assert proxy.posts == 12 + len(faults) and not proxy.faults
        for c in done.values():
            check_samples(c, sampling)
        proxy.faults.append("429")  # Retry-After: 1
        t0 = time.monotonic()
        run_all(backend, prompts(1, sampling), 1)
        assert time.monotonic() - t0 >= 1.0


def test_bad_request_is_not_retried(vllm_url, server):
    with FaultProxy(vllm_url, ["400"]) as proxy, ServerBackend(proxy.url, api_key_env=KEY_ENV) as backend:
        backend.submit(Request("q", prompt="What is 1?"))
        with pytest.raises(BackendError) as e:
            backend.wait(10)
        one_line(e.value, proxy.url, "HTTP 400", "'q'", "this request is bad: no good")
        assert proxy.posts == 1
    server.submit(Request("long", prompt="What is 1 + 1?", sampling=Sampling(max_tokens=100_000)))  # vLLM: 400
    t0 = time.monotonic()
    with pytest.raises(BackendError) as e:
        server.wait(10)
    one_line(e.value, "HTTP 400", "max_model_len")
    assert time.monotonic() - t0 < 2


def test_server_killed_mid_run(vllm_url):
    """The server dies (kill -9 of the process the backend talks to: a proxy in a process of its own) with
    requests in flight: wait() raises one line naming its URL, about timeout_s later."""
    timeout_s = 3.0
    with proxy_process(vllm_url, delay_s=0.5) as (url, proc):
        backend = ServerBackend(url, api_key_env=KEY_ENV, timeout_s=timeout_s)
        assert len(run_all(backend, prompts(2, Sampling(max_tokens=8)), 2)) == 2
        for request in prompts(3, Sampling(max_tokens=8)):
            backend.submit(request)
        time.sleep(0.2)  # the proxy holds them for 0.5 s
        os.kill(proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(BackendError) as e:
            drive(backend, (), 3, lambda c: None)
        took = time.monotonic() - t0
        backend.close()
    one_line(e.value, url, "gave up", "last failure")
    assert timeout_s <= took < timeout_s + 3


class _NotOpenAI(BaseHTTPRequestHandler):
    """A web server that is not an OpenAI one: 404 everywhere, except /several, which lists three models."""

    def do_GET(self):
        several = self.path.startswith("/several/")
        body = b'{"data": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}' if several else b"<html>no</html>"
        self.send_response(200 if several else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def not_openai_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotOpenAI)
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_refused_at_start_in_one_line(vllm_url, monkeypatch):
    down = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(CftError) as e:
        ServerBackend([vllm_url, f"http://user:pw@{down[7:]}/v1"], api_key_env=KEY_ENV)
    one_line(e.value, down, "no server answers")
    assert time.monotonic() - t0 < 5
    with not_openai_server() as url:
        with pytest.raises(BackendError) as e:
            ServerBackend(url)
        one_line(e.value, url, "not an OpenAI-compatible server", "HTTP 404")
        with pytest.raises(BackendError) as e:
            ServerBackend(f"{url}/several")
        one_line(e.value, "3 models (a, b, c)")
        with pytest.raises(BackendError) as e:
            ServerBackend(f"{url}/several", model="d")
        one_line(e.value, "does not serve 'd'")
    with pytest.raises(BackendError) as e:
        ServerBackend(vllm_url)  # no key
    one_line(e.value, vllm_url, "refused the API key", "401")
    monkeypatch.setenv("CFT_TEST_WRONG_KEY", "not-the-key")
    with pytest.raises(BackendError) as e:
        ServerBackend(vllm_url, api_key_env="CFT_TEST_WRONG_KEY")
    one_line(e.value, "401")
    with pytest.raises(BackendError) as e:
        ServerBackend(vllm_url, api_key_env="CFT_TEST_UNSET_KEY")
    one_line(e.value, "$CFT_TEST_UNSET_KEY is not set")


def test_credentials_never_shown(vllm_url, tiny_model):
    """A key pasted into the URL and the key in its variable show up nowhere: not in describe(), errors, logs."""
    with ServerBackend(f"http://user:pw@{vllm_url[7:]}", api_key_env=KEY_ENV, model=str(tiny_model)) as backend:
        assert backend.urls == [vllm_url]
        assert SENTINEL not in repr(backend.describe()) and "user:pw" not in repr(backend.describe())
        backend.submit(Request("x", prompt="What is 1 + 1?", sampling=Sampling(max_tokens=100_000)))
        with pytest.raises(BackendError) as e:
            backend.wait(10)
        one_line(e.value)
    for bad in ("ftp://user:pw@127.0.0.1/", "127.0.0.1:8000"):
        with pytest.raises(BackendError) as e:
            ServerBackend(bad)
        one_line(e.value, "not an http(s) server URL")
