"""Numbers are numbers: in every number field of every tool (found in the tool's own input schema, nested
fields and map values included), a string, a boolean, NaN and ±Infinity are refused with INVALID_INPUT
naming the field, and so is a value just past any bound the schema states; nothing reaches OpenRouter.

The MCP client serialises arguments as strict JSON (NaN would arrive as null), so NaN and Infinity are sent
as raw JSON-RPC, over Streamable HTTP and over stdio, with the literal tokens on the wire."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from openrouter_mcp.server import OpenRouterMCP
from openrouter_mcp.shapes import Shape
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, SimLog, error_of, server_env

NUMERIC = {"number", "integer"}
# Valid values for required arguments where "a string" or "a list" is not enough.
EXAMPLES: dict[str, Any] = {
    "messages": [{"role": "user", "content": "hello"}],
    "models": ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"],
    "model": "openai/gpt-4o-mini",
    "image_path": "photo.png",
    "audio_path": "clip.wav",
    "video_path": "clip.mp4",
    "document_path": "paper.pdf",
    "video_id": "gen-vid-0001",
    "job_id": "job-0001",
    "generation_id": "gen-0001",
    "benchmark_id": "bench-0001",
}
MAP_KEYS = {"weights": "speed"}  # a key for a map's values, by the map's name
FIX = "finite JSON number"


def in_background(entry: dict[str, Any]) -> bool:
    """The ledger's own cost look-ups (GET /generation), which run whenever earlier calls left costs to read."""
    return bool(entry["path"] == "/api/v1/generation")


def sent_since(sim_log: SimLog, mark: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sim_log.entries()[mark:] if not in_background(e)]


# ---------- numeric fields, read from the schemas ----------


def resolve(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = {**defs[node["$ref"].removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}
    return node if isinstance(node, dict) else {}


def variants(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    alternatives = node.get("anyOf") or node.get("oneOf")
    if not alternatives:
        return [node]
    base = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
    return [v for a in alternatives for v in variants({**base, **resolve(a, defs)}, defs)]


def types_of(node: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for v in variants(node, defs):
        kind = v.get("type")
        found |= {kind} if isinstance(kind, str) else set(kind or ())
    return found


@dataclass
class Place:
    """A numeric field of a tool: how to reach it from the arguments, and its schema."""

    tool: str
    steps: tuple[tuple[Any, ...], ...]  # ("prop", name, object schema) | ("key", key) | ("item",)
    node: dict[str, Any]
    schema: dict[str, Any]

    @property
    def field(self) -> str:
        out = ""
        for step in self.steps:
            out += "[0]" if step[0] == "item" else (f".{step[1]}" if out else str(step[1]))
        return out

    @property
    def integer(self) -> bool:
        kinds = types_of(self.node, self.defs)
        return "integer" in kinds and "number" not in kinds

    @property
    def defs(self) -> dict[str, Any]:
        return self.schema.get("$defs") or {}

    def arguments(self, bad: Any) -> dict[str, Any]:
        """Valid arguments for the tool, except for `bad` in this field."""

        def nest(i: int) -> Any:
            if i == len(self.steps):
                return bad
            step = self.steps[i]
            if step[0] == "item":
                return [nest(i + 1)]
            if step[0] == "key":
                return {step[1]: nest(i + 1)}
            out = filled(step[2], self.defs, skip=step[1])
            out[step[1]] = nest(i + 1)
            return out

        out: dict[str, Any] = nest(0)
        return out


def numeric_places(tool: str, schema: dict[str, Any]) -> Iterator[Place]:
    defs = schema.get("$defs") or {}

    def walk(node: Any, steps: tuple[tuple[Any, ...], ...]) -> Iterator[Place]:
        node = resolve(node, defs)
        kinds = types_of(node, defs)
        if steps and kinds & NUMERIC and not kinds & {"string", "boolean"}:
            yield Place(tool, steps, node, schema)
        for v in variants(node, defs):
            for name, sub in (v.get("properties") or {}).items():
                yield from walk(sub, (*steps, ("prop", name, v)))
            if isinstance(v.get("additionalProperties"), dict):
                key = MAP_KEYS.get(str(steps[-1][1]) if steps and steps[-1][0] == "prop" else "", "key")
                yield from walk(v["additionalProperties"], (*steps, ("key", key)))
            if isinstance(v.get("items"), dict):
                yield from walk(v["items"], (*steps, ("item",)))

    yield from walk(schema, ())


def example(name: str, node: dict[str, Any], defs: dict[str, Any]) -> Any:
    if name in EXAMPLES:
        return EXAMPLES[name]
    node = resolve(node, defs)
    kinds = types_of(node, defs)
    if "string" in kinds:
        return "x" * max(1, node.get("minLength", 1))
    if "array" in kinds:
        return [example("", resolve(node.get("items"), defs), defs)] * max(1, node.get("minItems", 1))
    if "object" in kinds:
        return filled(node, defs)
    if kinds & NUMERIC:
        return node.get("minimum", node.get("exclusiveMinimum", 0) + 1)
    return True


def filled(obj: dict[str, Any], defs: dict[str, Any], skip: str | None = None) -> dict[str, Any]:
    """An object's required members, with valid values."""
    props = obj.get("properties") or {}
    return {name: example(name, props.get(name, {}), defs) for name in obj.get("required") or () if name != skip}


def past_bounds(place: Place) -> list[Any]:
    """Values just past each bound the field's schema states."""
    node, out = place.node, []
    for v in variants(node, place.defs):
        if "minimum" in v:
            out.append(v["minimum"] - 1 if place.integer else math.nextafter(v["minimum"], -math.inf))
        if "maximum" in v:
            out.append(v["maximum"] + 1 if place.integer else math.nextafter(v["maximum"], math.inf))
        out += [v[k] for k in ("exclusiveMinimum", "exclusiveMaximum") if k in v]
    return out


async def places_of(client: Client) -> list[Place]:
    tools = (await client.list_tools()).tools
    places = [p for t in tools for p in numeric_places(t.name, t.input_schema)]
    # The schemas were read, not skipped: every toolset has number fields, some of them nested.
    assert len(places) >= 50 and len({p.tool for p in places}) >= 15, [p.field for p in places]
    assert any(len(p.steps) > 1 for p in places)
    return places


def refusal(result: Any) -> dict[str, Any] | None:
    """The error of a refused call (None: the call was not refused), as the MCP client or raw JSON-RPC got it."""
    if isinstance(result, dict):
        return result["structuredContent"]["error"] if result.get("isError") else None
    return error_of(result) if result.is_error else None


def names_the_field(error: dict[str, Any] | None, place: Place) -> str | None:
    """Why the error does not name the field as expected (None: it does)."""
    if error is None:
        return "accepted"
    details = error.get("details") or {}
    wanted = {place.field, place.field.replace("[", ".").replace("]", "")}  # a.b[0] or pydantic's a.b.0
    if error["code"] != "INVALID_INPUT":
        return f"code {error['code']}: {error['message']}"
    # `fields` lists every field a schema check refused; a service's own range check names just the one.
    if details.get("field") not in wanted or details.get("fields", [details.get("field")]) != [details.get("field")]:
        return f"details {details}"
    if not any(w in error["message"] for w in wanted):
        return f"message {error['message']!r}"
    return None


async def test_no_number_field_also_takes_a_string_or_a_boolean(http_client: Client) -> None:
    """A field typed `float | str` would let "1.5" through as a string, to be read as a number later: none is."""
    mixed = []
    for tool in (await http_client.list_tools()).tools:
        for place in numeric_places(tool.name, tool.input_schema):
            kinds = types_of(place.node, place.defs)
            mixed += [f"{tool.name} {place.field}: {sorted(kinds)}"] if kinds & {"string", "boolean"} else []

    def every(node: Any, path: str, defs: dict[str, Any], name: str) -> None:
        node = resolve(node, defs)
        kinds = types_of(node, defs)
        if kinds & NUMERIC and kinds & {"string", "boolean"}:
            mixed.append(f"{name} {path}: {sorted(kinds)}")
        for v in variants(node, defs):
            for key, sub in (v.get("properties") or {}).items():
                every(sub, f"{path}.{key}" if path else key, defs, name)
            for sub, suffix in ((v.get("additionalProperties"), ".*"), (v.get("items"), "[]")):
                if isinstance(sub, dict):
                    every(sub, path + suffix, defs, name)

    for tool in (await http_client.list_tools()).tools:
        every(tool.input_schema, "", tool.input_schema.get("$defs") or {}, tool.name)
    assert not mixed


class Price(BaseModel):
    prompt: float | None = None


class Routing(BaseModel):
    max_price: Price | None = None
    tiers: list[Price] = []
    weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    label: str | None = None


class Probe(Shape):
    ok: bool


async def test_the_plan_follows_refs_unions_maps_and_arrays() -> None:
    """Nested models (`$ref` into `$defs`), `anyOf` with null, maps and arrays, as pydantic writes them."""
    server = OpenRouterMCP(name="probe")
    called = []

    @server.tool()
    async def probe(routing: Routing, n: Annotated[int | None, Field(ge=1)] = None) -> Annotated[CallToolResult, Probe]:
        called.append(routing)
        return CallToolResult(content=[], structured_content={"ok": True})

    assert "$defs" in (server._tool_manager.get_tool("probe") or pytest.fail()).parameters
    cases: list[tuple[dict[str, Any], str]] = [
        ({"routing": {"max_price": {"prompt": "1.5"}}}, "routing.max_price.prompt"),
        ({"routing": {"tiers": [{"prompt": 1}, {"prompt": True}]}}, "routing.tiers[1].prompt"),
        ({"routing": {"weights": {"speed": math.nan}}}, "routing.weights.speed"),
        ({"routing": '{"weights": {"speed": Infinity}}'}, "routing.weights.speed"),
        ({"routing": {}, "n": "2"}, "n"),
        ({"routing": {"label": math.inf}}, "routing.label"),
    ]
    for args, field in cases:
        result = await server.call_tool("probe", args)
        assert result.is_error and result.structured_content["error"]["details"] == {"field": field, "fields": [field]}, (args, result)
    assert called == []
    fine = await server.call_tool("probe", {"routing": {"max_price": {"prompt": 0.5}, "tiers": [], "weights": {"speed": 1}, "label": "1.5"}, "n": 2})
    assert not fine.is_error and len(called) == 1


# ---------- through the MCP client ----------


async def test_strings_and_booleans_in_every_number_field_are_refused(mcp_client: Client, sim_log: SimLog) -> None:
    places = await places_of(mcp_client)
    mark = sim_log.mark()
    wrong = []
    for place in places:
        for bad in ("1", "1.5", "Infinity", "NaN", True, False):
            error = refusal(await mcp_client.call_tool(place.tool, place.arguments(bad)))
            problem = names_the_field(error, place)
            if error is not None and problem is None and FIX not in error["message"]:
                problem = f"no fix in {error['message']!r}"
            if problem:
                wrong.append(f"{place.tool} {place.field}={bad!r}: {problem}")
    assert not wrong, "\n".join(wrong)
    assert sent_since(sim_log, mark) == []


async def test_a_value_just_past_each_stated_bound_is_refused(mcp_client: Client, sim_log: SimLog) -> None:
    places = [(p, v) for p in await places_of(mcp_client) for v in past_bounds(p)]
    assert len(places) >= 50
    mark = sim_log.mark()
    wrong = []
    for place, value in places:
        error = refusal(await mcp_client.call_tool(place.tool, place.arguments(value)))
        if problem := names_the_field(error, place):
            wrong.append(f"{place.tool} {place.field}={value!r}: {problem}")
    assert not wrong, "\n".join(wrong)
    assert sent_since(sim_log, mark) == []


async def test_numbers_inside_json_given_as_a_string_are_checked_too(mcp_client: Client, sim_log: SimLog) -> None:
    """The SDK reads an argument given as a string holding JSON (as some clients send objects): what it reads is checked."""
    mark = sim_log.mark()
    models = EXAMPLES["models"]
    cases = [
        ("benchmark_models", {"models": models, "weights": '{"speed": "2"}'}, "weights.speed"),
        ("benchmark_models", {"models": models, "weights": '{"speed": true}'}, "weights.speed"),
        ("benchmark_models", {"models": models, "prompts": '[{"prompt": "2+2?", "expected": NaN}]'}, "prompts[0].expected"),
        ("chat_completion", {"messages": '[{"role": "user", "content": Infinity}]'}, "messages[0].content"),
    ]
    for tool, args, field in cases:
        error = error_of(await mcp_client.call_tool(tool, args))
        assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == field, error
    assert sent_since(sim_log, mark) == []


# ---------- raw JSON-RPC: NaN and Infinity as literal tokens ----------


class RawHttp:
    """Streamable HTTP without the SDK's client: bodies written with json.dumps(allow_nan=True)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx2.AsyncClient(timeout=60)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        self.next_id = 0

    async def send(self, message: dict[str, Any]) -> dict[str, Any] | None:
        body = json.dumps(message, allow_nan=True)
        resp = await self.http.post(self.url, content=body, headers=self.headers)
        resp.raise_for_status()
        if "mcp-session-id" in resp.headers:
            self.headers["mcp-session-id"] = resp.headers["mcp-session-id"]
        if "id" not in message:
            return None
        if resp.headers.get("content-type", "").startswith("text/event-stream"):
            for line in resp.text.splitlines():
                if line.startswith("data:") and (data := json.loads(line[5:])).get("id") == message["id"]:
                    return dict(data)
            raise AssertionError(f"no answer in {resp.text[:500]}")
        return dict(resp.json())

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        answer = await self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        assert answer is not None and "result" in answer, answer
        return dict(answer["result"])

    async def start(self) -> None:
        await self.request("initialize", INIT)
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def close(self) -> None:
        await self.http.aclose()


class RawStdio:
    """A server process of its own, spoken to in JSON lines written with json.dumps(allow_nan=True)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.next_id = 0
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openrouter_mcp", "serve",
            env=self.env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 22,
        )  # fmt: skip
        await self.request("initialize", INIT)
        await self.write({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def write(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message, allow_nan=True).encode() + b"\n")
        await self.proc.stdin.drain()

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        self.next_id += 1
        await self.write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            assert line, "the server closed stdout"
            answer = json.loads(line)
            if answer.get("id") == self.next_id:
                assert "result" in answer, answer
                return dict(answer["result"])

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw-json-rpc", "version": "1"}}
Raw = RawHttp | RawStdio


@pytest.fixture(scope="module", params=["http", "stdio"])
async def raw(request: pytest.FixtureRequest, simulator: RunningSimulator, server_home: Path) -> AsyncIterator[Raw]:
    if request.param == "http":
        server: HttpServer = request.getfixturevalue("http_server")
        client: Raw = RawHttp(server.url)
    else:
        client = RawStdio(server_env(simulator, server_home))
    await client.start()
    try:
        yield client
    finally:
        await client.close()


def error_in(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("isError") is True, result
    error: dict[str, Any] = result["structuredContent"]["error"]
    return error


async def test_nan_and_infinity_in_every_number_field_are_refused(raw: Raw, http_client: Client, sim_log: SimLog) -> None:
    places = await places_of(http_client)
    mark = sim_log.mark()
    wrong = []
    for place in places:
        for bad, token in ((math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")):
            args = place.arguments(bad)
            assert token in json.dumps(args, allow_nan=True)
            error = refusal(await raw.request("tools/call", {"name": place.tool, "arguments": args}))
            problem = names_the_field(error, place)
            if error is not None and problem is None and f"{token} is not a finite number" not in error["message"]:
                problem = f"the server did not read {token}: {error['message']!r}"  # e.g. it arrived as null
            if problem:
                wrong.append(f"{place.tool} {place.field}={token}: {problem}")
    assert not wrong, "\n".join(wrong)
    assert sent_since(sim_log, mark) == []


FREE_FORM = [
    ("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "provider": {"max_price": {"prompt": math.nan}}}, "provider.max_price.prompt"),
    ("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "web_search": {"max_results": math.inf}}, "web_search.max_results"),
    ("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "reasoning": {"max_tokens": -math.inf}}, "reasoning.max_tokens"),
    ("chat_completion", {"messages": [{"role": "user", "content": [{"type": "text", "text": math.nan}]}]}, "messages[0].content[0].text"),
    ("benchmark_models", {"models": EXAMPLES["models"], "prompts": [{"prompt": "2+2?", "expected": math.inf}]}, "prompts[0].expected"),
    ("adaptive_model_selection", {"task": "summarise", "constraints": {"max_latency_ms": math.nan}}, "constraints.max_latency_ms"),
]


@pytest.mark.parametrize(("tool", "args", "field"), FREE_FORM, ids=[f for _, _, f in FREE_FORM])
async def test_nan_and_infinity_inside_free_form_json_are_refused(raw: Raw, sim_log: SimLog, tool: str, args: dict[str, Any], field: str) -> None:
    """Objects the schema leaves open (routing, messages, prompts, constraints) hold numbers too: NaN there
    would pass the services' range checks and reach OpenRouter as invalid JSON."""
    mark = sim_log.mark()
    error = error_in(await raw.request("tools/call", {"name": tool, "arguments": args}))
    assert error["code"] == "INVALID_INPUT" and error["details"] == {"field": field, "fields": [field]}, error
    assert "is not a finite number" in error["message"]
    assert sent_since(sim_log, mark) == []
