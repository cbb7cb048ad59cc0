"""The OpenRouter gateway: one pooled async HTTP client per process (`httpx2`, chosen for its connection
pool under hundreds of calls in flight: decision 13), attribution headers, per-operation time-outs, a retry
policy that re-sends only what is safe, and chat, streamed or as one answer, with errors detected wherever
they arrive (status, 200 body, or mid-stream event)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, Protocol, TypeVar
from urllib.parse import urlsplit

import httpcore2
import httpx2
import orjson

# The client's own translation of its pool's errors into httpx2's exceptions (see `_Answer`).
from httpx2._transports.default import map_httpcore_exceptions

from ..config import Settings
from ..core.identity import current_user
from ..errors import ToolFailure
from .errors import (
    RETRYABLE_STATUSES,
    bad_response,
    error_object,
    failure_from_body,
    failure_from_error,
    transport_failure,
)
from .handoff import Handoff, body_after
from .types import ChatResult, ProgressFn, StartFn, cost_from_wire
from .upload import StreamedBody

log = logging.getLogger("openrouter_mcp.upstream")


class _NamedResult(Protocol):
    generation_id: str | None
    latency_ms: float


_Named = TypeVar("_Named", bound=_NamedResult)


# Connections to OpenRouter, at most: as many calls in flight as a busy team server has (each call holds one
# while it runs), all kept alive for reuse; an idle connection closes after a minute.
POOL_CONNECTIONS = 1000

# How long a cancelled call keeps listening for OpenRouter to name its generation.
CANCEL_GRACE_S = 5.0


class _Bearer(httpx2.Auth):
    """Sends each request with the key `key()` names as it leaves (none when that is empty)."""

    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key

    def auth_flow(self, request: httpx2.Request) -> Any:
        if key := self._key():
            request.headers["Authorization"] = f"Bearer {key}"
        yield request


class Gateway:
    """Speaks HTTP to OpenRouter; every failure leaves as a `ToolFailure`. Each request carries the calling
    user's own OpenRouter key if they have one, else the server's; `callers_keys=False` makes a gateway
    that always speaks with the key in its settings (the key-management client's provisioning key)."""

    def __init__(self, settings: Settings, *, callers_keys: bool = True) -> None:
        self._settings = settings
        self._server_key = settings.api_key.get() if settings.api_key else ""
        self._callers_keys = callers_keys
        self._auth = _Bearer(lambda: self._key)
        self._client: httpx2.AsyncClient | None = None
        self._transport: httpx2.AsyncHTTPTransport | None = None
        self._chat_parts: tuple[httpcore2.URL, dict[bytes, bytes], dict[str, Any]] | None = None

    @property
    def _key(self) -> str:
        """The key the request being made now carries (a provisioned key with a limit, see services/team, when
        the calling user has one): masked wherever OpenRouter's answer is quoted."""
        if self._callers_keys and (key := current_user().openrouter_key):
            return key.get()
        return self._server_key

    @property
    def client(self) -> httpx2.AsyncClient:
        if self._client is None:
            s = self._settings
            headers = {"HTTP-Referer": s.http_referer, "X-Title": s.app_title, "X-OpenRouter-Title": s.app_title, "User-Agent": "openrouter-mcp"}
            # Every request goes to one host, so one transport (one connection pool) serves them all, through
            # the proxy the environment names for that host, if any. Streamed chat talks to it directly.
            self._transport = httpx2.AsyncHTTPTransport(
                limits=httpx2.Limits(max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_CONNECTIONS, keepalive_expiry=60),
                proxy=proxy_for(s.base_url),
            )
            self._client = httpx2.AsyncClient(
                base_url=s.base_url + "/",
                headers=headers,
                auth=self._auth,
                timeout=httpx2.Timeout(connect=s.connect_timeout_s, read=s.request_timeout_s, write=60.0, pool=60.0),
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._chat_parts = None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        # Full jitter: spreads the retries of many concurrent calls.
        return random.uniform(0, min(8.0, 0.5 * 2**attempt))

    async def _pause(self, attempt: int, waited: float, failure: ToolFailure, what: str) -> float:
        """Wait before retrying, or raise `failure` once the retries or the time allowed for them are
        spent. Returns the total time waited so far."""
        delay = self._backoff(attempt, failure.retry_after_s)
        if attempt >= self._settings.max_retries or waited + delay > self._settings.retry_max_wait_s:
            raise failure
        log.info("%s attempt %d failed with %s; retrying in %.2f s", what, attempt + 1, failure.code.value, delay)
        await asyncio.sleep(delay)
        return waited + delay

    async def get_json(self, path: str, params: dict[str, Any] | None = None, *, timeout_s: float = 30.0) -> Any:
        """A GET (always safe to repeat): retried on 408/429/502/503, time-outs and connection failures."""
        return await self.request_json("GET", path, params=params, timeout_s=timeout_s)

    async def post_named(self, path: str, body: dict[str, Any], parse: Callable[[Any], _Named], *, on_start: StartFn | None, timeout_s: float) -> _Named:
        """A paid POST whose JSON answer names its generation (embeddings, rerank): the answer parsed, its
        generation id reported as soon as it is read, and the wall time recorded."""
        started = time.perf_counter()
        result = parse(await self.request_json("POST", path, body=body, timeout_s=timeout_s))
        if result.generation_id and on_start is not None:
            on_start(result.generation_id)
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    async def request_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None, timeout_s: float = 30.0
    ) -> Any:
        """A JSON request and its JSON answer, retried only where that is safe: a GET after any refusal,
        time-out or connection failure; a POST only when refused before any work (408/429/502/503) or
        never connected, since a POST that timed out may be running, and billed."""
        content = None if body is None else orjson.dumps(body)
        headers = None if content is None else {"Content-Type": "application/json"}
        repeatable = method == "GET"
        attempt = 0
        waited = 0.0
        while True:
            try:
                resp = await self.client.request(method, path.lstrip("/"), params=params, content=content, headers=headers, timeout=timeout_s)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                failure = transport_failure("connect", type(exc).__name__)
            except httpx2.TimeoutException as exc:
                if not repeatable:
                    raise transport_failure("timeout", type(exc).__name__) from None
                failure = transport_failure("timeout", type(exc).__name__)
            except httpx2.TransportError as exc:
                if not repeatable:
                    raise bad_response(f"a broken response ({type(exc).__name__})") from None
                failure = transport_failure("connect", type(exc).__name__)
            else:
                if 200 <= resp.status_code < 300:
                    try:
                        payload = orjson.loads(resp.content)  # from the bytes: no decoded copy of a large answer (the catalog)
                    except ValueError:
                        # OpenRouter accepted a POST and may bill it: its cost is unknown, not $0.
                        unreadable = bad_response("a response that is not valid JSON")
                        unreadable.maybe_billed = not repeatable
                        raise unreadable from None
                    if (error := error_object(payload)) is not None:
                        raise failure_from_error(200, error, secret=self._key)
                    return payload
                failure = failure_from_body(resp.status_code, resp.content, resp.headers, secret=self._key)
                if resp.status_code not in RETRYABLE_STATUSES:
                    raise failure
            waited = await self._pause(attempt, waited, failure, f"{method} {path}")
            attempt += 1

    async def chat(
        self,
        body: dict[str, Any] | StreamedBody,
        *,
        on_progress: ProgressFn | None = None,
        on_start: StartFn | None = None,
        retry_rate_limited: bool = True,
        headers: dict[str, str] | None = None,
        stream: bool = True,
        before_body: Callable[[], Awaitable[None]] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> ChatResult:
        """Send a chat completion and gather its answer: as a stream with `stream=True`, else as one plain
        request whose whole answer comes back at once (cheaper, when nobody reads the reply as it comes). Re-sent only when OpenRouter refused it before
        generating (408/429/502/503) or the connection was never made; never after a token arrived. A
        streamed upload (`StreamedBody`, which must set `stream: true` itself) is re-sent only when the
        connection was never made: a refusal may come after part of a large file went out. With
        `retry_rate_limited=False` a 429 comes back at once, for a caller that moves on to other models.
        `on_progress` hears the count of pieces (content and reasoning) so far and the reply text that
        arrived since it was last called, so a caller can show the reply as it streams. `headers` go with
        the request (response caching is asked for with headers). `before_body` is awaited after the
        request's headers have gone and before its body goes (a streamed upload: before anything goes), on
        every attempt, so it must be idempotent: the ledger writes the call's row there (`Ledger.paid_call(ahead_of_body=True)`);
        if it raises, the body never leaves and the connection is closed. `on_sent` hears that the request
        may have reached OpenRouter whole (its body is leaving; for a body sent with its headers, the attempt
        is starting; a streamed upload does not report it): from then on it may run and bill even if the
        caller goes away (OpenRouter goes on with a plain request whose client has left)."""
        # An event stream gains nothing from compression and would wait on the compressor's buffer; a whole
        # answer may come gzipped (the one encoding besides identity that `_body` reads, with deflate).
        headers = {**(headers or {}), "Content-Type": "application/json", "Accept-Encoding": "identity" if stream else "gzip"}
        routing = None
        if isinstance(body, StreamedBody):
            headers["Content-Length"] = str(body.length)
            if before_body is not None:
                await before_body()
                before_body = None
        else:
            wire = {**body, "stream": True} if stream else {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
            payload = orjson.dumps(wire)
            routing = body.get("provider")
            if before_body is not None:
                headers["Content-Length"] = str(len(payload))
        attempt = 0
        waited = 0.0
        started = time.perf_counter()
        learned = asyncio.Event()
        abandoned = asyncio.Event()  # the caller was cancelled: a body that has not left by then never does

        def named(generation_id: str) -> None:
            learned.set()
            if on_start is not None:
                on_start(generation_id)

        while True:
            failure: ToolFailure
            try:
                if isinstance(body, StreamedBody):
                    content: Any = body.chunks()
                elif before_body is not None:  # on every attempt: one that failed may not have sent its body
                    content = body_after(before_body, payload, abandoned.is_set, on_sent)
                else:
                    content = payload
                    if on_sent is not None:
                        on_sent()  # the body goes with the headers
                sending = Handoff(self._attempt(content, headers, started, on_progress, named, routing))
                try:
                    answer = await sending.result()
                except asyncio.CancelledError:
                    abandoned.set()
                    await self._let_go(sending.task, learned)
                    raise
                if isinstance(answer, ChatResult):
                    answer.attempts = attempt + 1
                    return answer
                status, failure = answer
                if status not in RETRYABLE_STATUSES or isinstance(body, StreamedBody) or (status == 429 and not retry_rate_limited):
                    raise failure
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                failure = transport_failure("connect", type(exc).__name__)
            except httpx2.TimeoutException as exc:
                # The request reached OpenRouter and may be generating (and billing): never re-send.
                raise transport_failure("timeout", type(exc).__name__) from None
            except httpx2.TransportError as exc:
                raise bad_response(f"a broken response ({type(exc).__name__})") from None
            waited = await self._pause(attempt, waited, failure, "chat")
            attempt += 1

    async def _attempt(
        self,
        content: Any,
        headers: dict[str, str],
        started: float,
        on_progress: ProgressFn | None,
        on_start: StartFn,
        routing: dict[str, Any] | None,
    ) -> ChatResult | tuple[int, ToolFailure]:
        """One request: the gathered reply, or the status and failure of a refusal. It goes straight to the
        transport: a chat stream needs none of the client's redirect, auth-flow or cookie handling, and
        skipping them makes every network read of the stream cheaper. `routing` (the request's provider
        options) is named by a refusal that says they left no endpoint."""
        request = self._chat_request(content, headers)
        assert self._transport is not None
        with map_httpcore_exceptions():
            resp = _Answer(await self._transport._pool.handle_async_request(request))
        try:
            if resp.status_code == 200:
                return await self._read_stream(resp, started, on_progress, on_start)
            raw = b"".join([piece async for piece in _body(resp)])
            return resp.status_code, failure_from_body(resp.status_code, raw, resp.headers, secret=self._key, routing=routing)
        finally:
            await resp.aclose()

    def _chat_request(self, content: Any, headers: dict[str, str]) -> httpcore2.Request:
        """The chat request as the client would send it (its headers, the key, its time-outs), built for the
        client's connection pool directly: the client, and its transport, would build and merge the URL and
        headers anew on every call and wrap the answer in objects of their own, several times the cost of
        this (most of what the reference's one `client.post` costs). The headers are the ones the client
        puts on every request (Host, its defaults and ours), then this call's, then the length and the key."""
        if self._chat_parts is None:
            client = self.client
            url = client.base_url.join("chat/completions")
            target = httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
            base = {b"host": url.netloc, **{k.lower().encode("ascii"): v.encode("ascii") for k, v in client.headers.items()}}
            self._chat_parts = (target, base, {"timeout": client.timeout.as_dict()})
        target, base, extensions = self._chat_parts
        merged = {**base, **{name.lower().encode("ascii"): value.encode("ascii") for name, value in headers.items()}}  # names are case-insensitive
        if isinstance(content, bytes):
            merged[b"content-length"] = str(len(content)).encode("ascii")
        elif b"content-length" not in merged:
            merged[b"transfer-encoding"] = b"chunked"
        if key := self._key:
            merged[b"authorization"] = f"Bearer {key}".encode("ascii")
        return httpcore2.Request(b"POST", target, headers=list(merged.items()), content=content, extensions=extensions)

    @staticmethod
    async def _let_go(sending: asyncio.Future[Any], learned: asyncio.Event) -> None:
        """The caller cancelled. If the request may already be generating (and billing) but OpenRouter has
        not named the generation yet, keep listening for a moment so the ledger can learn its id and
        reconcile its cost; then close the connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_GRACE_S
        waiting = asyncio.ensure_future(learned.wait())
        while not learned.is_set() and not sending.done() and (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait({waiting, sending}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                continue  # a caller may cancel again and again; the ledger still needs the generation id
        waiting.cancel()
        sending.cancel()
        with contextlib.suppress(BaseException):
            await sending

    async def _read_stream(self, resp: _Answer, started: float, on_progress: ProgressFn | None, on_start: StartFn | None) -> ChatResult:
        events = _Events(started, self._key, on_start)
        # The generation id may come as a header before any token (the simulator sends one); otherwise it
        # arrives with the first event. Either way the ledger learns it before the reply can be billed.
        if header_id := resp.header(b"x-generation-id"):
            events.named(header_id)
        events.result.cache_status = resp.header(b"x-openrouter-cache-status")
        if (resp.header(b"content-type") or "").startswith("application/json"):
            # A whole completion, not a stream (what a request without `stream` gets): its `message` is read
            # like one big delta, so both shapes carry the same fields.
            raw = b"".join([piece async for piece in _body(resp)])
            try:
                whole = orjson.loads(raw)
            except orjson.JSONDecodeError:
                # Cut short, the answer still names its generation in its first field: the ledger settles
                # the call by that id (it was billed) instead of leaving its cost unknown.
                if (found := _LEADING_ID.match(raw)) is not None:
                    events.named(found.group(1).decode())
                raise bad_response("a response that is not valid JSON") from None
            events.take(whole)
            events.done = True
            if on_progress is not None and events.pieces:
                await on_progress(events.pieces, "".join(events.content))
            return events.finish()
        buffer = b""
        # Read to the end of the body even after [DONE]: leaving it unread would close the keep-alive
        # connection, and the next call would pay for a new one. Every line a network read brought is
        # handled in one go, and progress is reported once per read, with the reply text that read brought.
        async for chunk in _body(resp):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            pieces, texts = events.pieces, len(events.content)
            for line in lines:
                events.feed(line)
            if on_progress is not None and events.pieces != pieces:
                await on_progress(events.pieces, "".join(events.content[texts:]))
        if buffer:
            events.feed(buffer)
        return events.finish()


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY ...) names for `url`'s host, if any."""
    parts = urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    return None if not proxy else proxy if "://" in proxy else f"http://{proxy}"


class _Answer:
    """A chat answer as the connection pool gives it: its status, its headers as sent, and its body, whose
    network errors are told as the client would tell them (httpx2's own exceptions)."""

    __slots__ = ("_raw", "status_code")

    def __init__(self, raw: httpcore2.Response) -> None:
        self._raw = raw
        self.status_code = raw.status

    def header(self, name: bytes) -> str | None:
        """The first value of the header `name` (given in lower case), if the answer has it."""
        for key, value in self._raw.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    @property
    def headers(self) -> httpx2.Headers:
        return httpx2.Headers(self._raw.headers)

    async def stream(self) -> AsyncIterator[bytes]:
        with map_httpcore_exceptions():
            async for piece in self._raw.stream:  # type: ignore[union-attr]
                yield piece

    async def aclose(self) -> None:
        await self._raw.aclose()


def _body(resp: _Answer) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive. A chat request asks for no compression; a server that compresses
    anyway with gzip or deflate is decoded, and any other encoding is refused."""
    stream = resp.stream()
    encoding = (resp.header(b"content-encoding") or "identity").strip().lower()
    if encoding in ("", "identity"):
        return stream
    if encoding not in ("gzip", "deflate"):
        raise bad_response(f"a body in an encoding it was not asked for ({encoding})")
    return _inflated(stream)


async def _inflated(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told apart by their headers
    async for piece in stream:
        yield inflate.decompress(piece)
    yield inflate.flush()


# The generation id at the start of a whole answer, `{"id": "gen-...", ...`, read when the rest is unreadable.
_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*"([A-Za-z0-9_.:-]{1,200})"')


class _Events:
    """The server-sent events of one chat completion (or its answer as one JSON body), gathered into a ChatResult."""

    def __init__(self, started: float, secret: str, on_start: StartFn | None) -> None:
        self.result = ChatResult()
        self.started = started
        self.secret = secret
        self.on_start = on_start
        self.calls: dict[int, dict[str, Any]] = {}
        self.content: list[str] = []
        self.reasoning: list[str] = []
        # The text pieces of each joined reasoning.text block, by its place in result.reasoning_details: joined
        # once in finish(), since adding each piece to the text would copy the whole text again every time.
        self.detail_texts: dict[int, list[str]] = {}
        self.pieces = 0
        self.done = False

    def named(self, generation_id: str) -> None:
        if self.result.generation_id is None:
            self.result.generation_id = generation_id
            if self.on_start is not None:
                self.on_start(generation_id)

    def feed(self, line: bytes) -> None:
        """One line of the stream: comments (": OPENROUTER PROCESSING") and blank separators are skipped."""
        if not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            self.done = True
            return
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise bad_response("a streamed event that is not valid JSON") from None
        self.take(chunk)

    def take(self, chunk: Any) -> None:
        """One streamed chunk (choices carry a `delta`), or a whole completion (choices carry a `message`)."""
        if not isinstance(chunk, dict):
            raise bad_response("a streamed event that is not an object")
        result = self.result
        if (error := error_object(chunk)) is not None:
            self._fail(error, chunk)
        if gen_id := chunk.get("id"):
            self.named(gen_id)
        result.model = chunk.get("model") or result.model
        result.provider = chunk.get("provider") or result.provider
        if usage := chunk.get("usage"):
            _apply_usage(result, usage)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or choice.get("message") or {}
            if text := delta.get("content"):
                self._first_token()
                self.content.append(text)
                self.pieces += 1
            if text := delta.get("reasoning"):
                self._first_token()
                self.reasoning.append(text)
                self.pieces += 1
            for detail in delta.get("reasoning_details") or ():
                self._reasoning_detail(detail)
            if isinstance(logprobs := choice.get("logprobs"), dict):
                result.logprobs.extend(logprobs.get("content") or ())
            for tc in delta.get("tool_calls") or ():
                slot = self.calls.setdefault(int(tc.get("index", len(self.calls))), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                slot["id"] = tc.get("id") or slot["id"]
                fn = tc.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            if ann := delta.get("annotations"):
                result.annotations.extend(ann)
            if imgs := delta.get("images"):
                result.images.extend(imgs)
            if isinstance(audio := delta.get("audio"), dict):
                if piece := audio.get("data"):
                    result.audio_data.append(piece)
                result.audio_transcript += audio.get("transcript") or ""
            if choice.get("finish_reason"):
                result.finish_reason = choice["finish_reason"]
            if (error := error_object(choice)) is not None:  # a whole completion cut short keeps its error here
                self._fail(error, chunk)

    def _fail(self, error: dict[str, Any], chunk: dict[str, Any]) -> NoReturn:
        failure = failure_from_error(200, error, secret=self.secret)
        failure.details = {**(failure.details or {}), "partial_text": "".join(self.content)[:2000]}
        if isinstance(usage := chunk.get("usage"), dict) and usage.get("cost") is not None:
            failure.details["cost_usd"] = usage["cost"]  # what the failed generation was billed, as sent
        failure.generation_id = chunk.get("id") or self.result.generation_id
        raise failure

    def _reasoning_detail(self, detail: Any) -> None:
        """A streamed reasoning detail joined to the ones before it, so the reply's `reasoning_details` can go
        back in the next turn unchanged: consecutive `reasoning.text` pieces are one block (text joined, the
        signature that arrives with some piece kept); summaries and encrypted blocks stay as they came. This is
        how OpenRouter's own client gathers them (OpenRouterTeam/ai-sdk-provider src/chat/index.ts; the docs'
        guides/best-practices/reasoning-tokens.mdx: "built by concatenating all chunks in order")."""
        if not isinstance(detail, dict):
            return
        details = self.result.reasoning_details
        last = details[-1] if details else None
        if detail.get("type") == "reasoning.text" and last is not None and last.get("type") == "reasoning.text" and last.get("index") == detail.get("index"):
            self.detail_texts.setdefault(len(details) - 1, [last.get("text") or ""]).append(detail.get("text") or "")
            for key, value in detail.items():
                if key != "text" and value is not None and last.get(key) is None:
                    last[key] = value
            return
        details.append(dict(detail))

    def _first_token(self) -> None:
        if self.result.ttft_ms is None:
            self.result.ttft_ms = (time.perf_counter() - self.started) * 1000

    def finish(self) -> ChatResult:
        result = self.result
        if not self.done and result.finish_reason is None:
            raise bad_response("a stream that ended before the reply was complete")
        result.content = "".join(self.content)
        result.reasoning = "".join(self.reasoning) if self.reasoning else None
        for i, texts in self.detail_texts.items():
            result.reasoning_details[i]["text"] = "".join(texts)
        result.tool_calls = [self.calls[i] for i in sorted(self.calls)]
        result.latency_ms = (time.perf_counter() - self.started) * 1000
        return result


def _apply_usage(result: ChatResult, usage: dict[str, Any]) -> None:
    result.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    result.completion_tokens = int(usage.get("completion_tokens") or 0)
    result.reasoning_tokens = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    result.cached_tokens = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    result.cost_usd = cost_from_wire(usage.get("cost"))
