"""search_models, get_model_info and validate_model end to end: the real server over MCP against the
simulator, with the expected answers computed from the simulator's own `/models` and `/endpoints`."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from mcp import Client

from openrouter_mcp.simulator.catalog import RETIRED
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import error_of

MILLION = Decimal(1_000_000)


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


async def fail(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    return error_of(await client.call_tool(tool, args))


@pytest.fixture(scope="module")
def wire(simulator: RunningSimulator) -> list[dict[str, Any]]:
    """Every model the simulator lists, as OpenRouter's wire format has it (the oracle)."""
    with urllib.request.urlopen(simulator.api_url + "/models?output_modalities=all") as resp:
        return list(json.load(resp)["data"])


def per_m(raw: str | None) -> Decimal | None:
    if raw is None or Decimal(raw) < 0:
        return None
    return Decimal(raw) * MILLION


async def all_pages(client: Client, **args: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await call(client, "search_models", **args, offset=offset, limit=100)
        rows += page["models"]
        offset = page["next_offset"]
    return rows


# ---------- text query: ranking and typos ----------


async def test_an_exact_id_comes_first_then_ids_that_start_with_it(mcp_client: Client) -> None:
    out = await call(mcp_client, "search_models", query="openai/gpt-4o", limit=10)
    ids = [m["id"] for m in out["models"]]
    assert ids[0] == "openai/gpt-4o"
    assert all(i.startswith("openai/gpt-4o") for i in ids[: out["total"] if out["total"] < 10 else 5])
    slug = await call(mcp_client, "search_models", query="gpt-4o", limit=3)
    assert slug["models"][0]["id"] == "openai/gpt-4o"
    assert not out["stale"] and out["stale_reason"] is None


async def test_query_matches_names_and_descriptions_too(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    by_name = await call(stdio_client, "search_models", query="Nano Banana", limit=5)
    assert by_name["models"][0]["id"].startswith("google/gemini-")
    roleplay = await all_pages(stdio_client, query="roleplay")
    expected = {m["id"] for m in wire if "roleplay" in m["description"].lower()}
    assert {m["id"] for m in roleplay} == expected and expected


@pytest.mark.parametrize(
    ("query", "first", "correction"),
    [
        ("claude sonet 4.5", "anthropic/claude-sonnet-4.5", ("sonet", "sonnet")),
        ("gemni 2.5 pro", "google/gemini-2.5-pro", ("gemni", "gemini")),
        ("openai/gpt-4o-mnii", "openai/gpt-4o-mini", ("mnii", "mini")),
        ("antropic opus 4.6", "anthropic/claude-opus-4.6", ("antropic", "anthropic")),
        ("deepsek r1", "deepseek/deepseek-r1", ("deepsek", "deepseek")),
    ],
)
async def test_typos_still_find_the_model_and_say_how_they_were_read(stdio_client: Client, query: str, first: str, correction: tuple[str, str]) -> None:
    out = await call(stdio_client, "search_models", query=query, limit=5)
    assert out["models"][0]["id"] == first
    assert out["corrections"][correction[0]] == correction[1]


async def test_a_query_nothing_matches_returns_an_empty_page(stdio_client: Client) -> None:
    out = await call(stdio_client, "search_models", query="zzqqxx")
    assert out["models"] == [] and out["total"] == 0 and out["has_more"] is False and out["next_offset"] is None


# ---------- filters (each compared with the simulator's own data) ----------


async def test_provider_is_an_author_prefix(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    rows = await all_pages(stdio_client, provider="meta")
    assert {m["id"] for m in rows} == {m["id"] for m in wire if m["id"].split("/")[0].startswith("meta")}
    assert any(m["id"].startswith("meta-llama/") for m in rows)
    error = await fail(stdio_client, "search_models", provider="antropic")
    assert error["code"] == "INVALID_INPUT" and "anthropic" in error["message"]


async def test_every_listed_input_and_output_modality_must_match(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    rows = await all_pages(stdio_client, input_modalities=["image", "file"], output_modalities=["text"])
    expected = {m["id"] for m in wire if {"image", "file"} <= set(m["architecture"]["input_modalities"]) and "text" in m["architecture"]["output_modalities"]}
    assert {m["id"] for m in rows} == expected and expected
    video = await all_pages(stdio_client, output_modalities=["video"])
    assert {m["id"] for m in video} == {m["id"] for m in wire if "video" in m["architecture"]["output_modalities"]}
    error = await fail(stdio_client, "search_models", input_modalities=["smell"])
    assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == "input_modalities"


async def test_supports_reads_supported_parameters(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    rows = await all_pages(stdio_client, supports=["tools", "reasoning", "web_search"])
    need = {"tools", "reasoning", "web_search_options"}
    assert {m["id"] for m in rows} == {m["id"] for m in wire if need <= set(m["supported_parameters"])}
    assert rows and all({"tools", "reasoning", "web_search"} <= set(m["supports"]) for m in rows)
    raw = await all_pages(stdio_client, supports=["logprobs"])
    assert {m["id"] for m in raw} == {m["id"] for m in wire if "logprobs" in m["supported_parameters"]}
    error = await fail(stdio_client, "search_models", supports=["telepathy"])
    assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == "supports"


async def test_price_caps_are_usd_per_million_and_exclude_unknown_prices(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    rows = await all_pages(stdio_client, max_prompt_price=0.2, max_completion_price=0.5)

    def fits(m: dict[str, Any]) -> bool:
        p, c = per_m(m["pricing"]["prompt"]), per_m(m["pricing"]["completion"])
        return p is not None and c is not None and p <= Decimal("0.2") and c <= Decimal("0.5")

    assert {m["id"] for m in rows} == {m["id"] for m in wire if fits(m)}
    assert "openrouter/auto" not in {m["id"] for m in rows}  # a router's price is unknown, not zero
    assert all(m["prompt_usd_per_m"] <= 0.2 and m["completion_usd_per_m"] <= 0.5 for m in rows)


async def test_min_context_length_and_free_only(stdio_client: Client, wire: list[dict[str, Any]]) -> None:
    rows = await all_pages(stdio_client, min_context_length=1_000_000)
    assert {m["id"] for m in rows} == {m["id"] for m in wire if m["context_length"] >= 1_000_000}
    free = await all_pages(stdio_client, free_only=True)
    ids = {m["id"] for m in free}
    assert all(m["free"] for m in free) and {m["id"] for m in wire if m["id"].endswith(":free")} <= ids
    assert "openrouter/free" not in ids and "openrouter/auto" not in ids


# ---------- sorting and pagination ----------


async def test_sorts(stdio_client: Client) -> None:
    price = (await call(stdio_client, "search_models", output_modalities=["text"], sort="price", limit=100))["models"]
    totals = [Decimal(repr(m["prompt_usd_per_m"])) + Decimal(repr(m["completion_usd_per_m"])) for m in price if m["prompt_usd_per_m"] is not None]
    assert totals == sorted(totals) and totals[0] == 0
    context = (await call(stdio_client, "search_models", sort="context_length", limit=50))["models"]
    lengths = [m["context_length"] for m in context]
    assert lengths == sorted(lengths, reverse=True)
    newest = (await call(stdio_client, "search_models", query="claude", sort="newest", limit=20))["models"]
    dates = [m["released"] for m in newest]
    assert dates == sorted(dates, reverse=True) and all("claude" in m["id"] for m in newest)


async def test_pages_cover_every_match_once(mcp_client: Client) -> None:
    whole = await call(mcp_client, "search_models", supports=["tools"], sort="newest", limit=100)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = await call(mcp_client, "search_models", supports=["tools"], sort="newest", limit=7, offset=offset)
        assert page["total"] == whole["total"]
        assert page["has_more"] == (page["next_offset"] is not None)
        seen += [m["id"] for m in page["models"]]
        offset = page["next_offset"]
    assert len(seen) == whole["total"] == len(set(seen))
    assert seen[:100] == [m["id"] for m in whole["models"]]
    past = await call(mcp_client, "search_models", supports=["tools"], offset=whole["total"] + 5)
    assert past["models"] == [] and not past["has_more"]


@pytest.mark.parametrize("args", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"sort": "popularity"}, {"max_prompt_price": -1}])
async def test_bad_arguments_say_which_field(stdio_client: Client, args: dict[str, Any]) -> None:
    error = await fail(stdio_client, "search_models", **args)
    assert error["code"] == "INVALID_INPUT"
    assert next(iter(args)) in error["message"]


# ---------- get_model_info ----------


def endpoints_of(simulator: RunningSimulator, model_id: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{simulator.api_url}/models/{model_id}/endpoints") as resp:
        return list(json.load(resp)["data"]["endpoints"])


async def test_model_info_has_the_catalog_entry_and_each_provider_endpoint(mcp_client: Client, simulator: RunningSimulator) -> None:
    info = await call(mcp_client, "get_model_info", model="meta-llama/llama-3.3-70b-instruct")
    assert info["id"] == "meta-llama/llama-3.3-70b-instruct" and info["variant"] is None
    assert info["pricing"]["prompt_usd_per_m"] == 0.13 and info["pricing"]["completion_usd_per_m"] == 0.4
    assert "tools" in info["supports"] and "tools" in info["supported_parameters"]
    expected = endpoints_of(simulator, "meta-llama/llama-3.3-70b-instruct")
    assert [e["provider"] for e in info["endpoints"]] == [e["provider_name"] for e in expected]
    for got, want in zip(info["endpoints"], expected, strict=True):
        assert got["quantization"] == want["quantization"] and got["context_length"] == want["context_length"]
        assert Decimal(repr(got["prompt_usd_per_m"])) == Decimal(want["pricing"]["prompt"]) * MILLION
        assert got["latency_p50_ms"] == want["latency_last_30m"]["p50"]
        assert got["throughput_p50_tps"] == want["throughput_last_30m"]["p50"]
        assert got["uptime_30m_pct"] == want["uptime_last_30m"]
    assert info["endpoints_error"] is None
    assert "meta-llama/llama-3.3-70b-instruct:free" in {v["id"] for v in info["variants"]}


async def test_variant_suffixes_are_explained_and_order_the_providers(stdio_client: Client) -> None:
    nitro = await call(stdio_client, "get_model_info", model="openai/gpt-4o-mini:nitro")
    assert nitro["id"] == "openai/gpt-4o-mini" and nitro["requested"] == "openai/gpt-4o-mini:nitro"
    assert nitro["variant"]["id"] == ":nitro" and "fastest" in nitro["variant"]["meaning"]
    speeds = [e["throughput_p50_tps"] for e in nitro["endpoints"]]
    assert len(speeds) > 1 and speeds == sorted(speeds, reverse=True)
    floor = await call(stdio_client, "get_model_info", model="openai/gpt-4o-mini:floor")
    prices = [e["prompt_usd_per_m"] for e in floor["endpoints"]]
    assert prices == sorted(prices) and "cheapest" in floor["variant"]["meaning"]
    free = await call(stdio_client, "get_model_info", model="google/gemma-3-27b-it:free")
    assert free["id"] == "google/gemma-3-27b-it:free" and free["free"] and free["variant"]["id"] == ":free"
    assert free["pricing"]["prompt_usd_per_m"] == 0 and free["endpoints"]


async def test_a_model_without_that_variant_or_with_a_misspelt_one_is_not_found(stdio_client: Client) -> None:
    error = await fail(stdio_client, "get_model_info", model="openai/gpt-4o:free")
    assert error["code"] == "MODEL_NOT_FOUND" and "no free variant" in error["message"]
    error = await fail(stdio_client, "get_model_info", model="mistralai/mistral-nemo:fre")
    assert error["code"] == "MODEL_NOT_FOUND" and error["suggestions"][0] == "mistralai/mistral-nemo:free"
    error = await fail(stdio_client, "get_model_info", model="anthropic/claude-sonet-4.5")
    assert error["code"] == "MODEL_NOT_FOUND" and error["suggestions"][0] == "anthropic/claude-sonnet-4.5"


async def test_model_info_still_answers_when_endpoints_cannot_be_read(stdio_client: Client) -> None:
    info = await call(stdio_client, "get_model_info", model="sim/instant")
    assert info["endpoints"] == [] and "404" in info["endpoints_error"]


# ---------- validate_model ----------


async def test_usable_ids_and_variants_validate(mcp_client: Client) -> None:
    ok = await call(mcp_client, "validate_model", model="openai/gpt-4o-mini")
    assert ok["usable"] and ok["resolved_id"] == "openai/gpt-4o-mini" and ok["suggestions"] == [] and ok["reason"] is None
    variant = await call(mcp_client, "validate_model", model="anthropic/claude-sonnet-4.5:online")
    assert variant["usable"] and variant["resolved_id"] == "anthropic/claude-sonnet-4.5" and variant["variant"]["id"] == ":online"
    expiring = await call(mcp_client, "validate_model", model="anthropic/claude-3.7-sonnet")
    assert expiring["usable"] and expiring["expires"] == "2026-05-19"


@pytest.mark.parametrize("old", sorted(RETIRED))
async def test_a_retired_id_names_its_successor_first(stdio_client: Client, old: str) -> None:
    out = await call(stdio_client, "validate_model", model=old)
    assert not out["usable"] and out["retired"]
    assert out["successor"] == RETIRED[old] and out["suggestions"][0] == RETIRED[old]
    assert 1 < len(out["suggestions"]) <= 5


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("openai/gpt-4o-mnii", "openai/gpt-4o-mini"),
        ("gogle/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("gpt-4o", "openai/gpt-4o"),
        ("meta-llama/llama-3.3-70b-instruct:fre", "meta-llama/llama-3.3-70b-instruct:free"),
        # Not a known retirement: the closest current member of the family.
        ("anthropic/claude-3-haiku-20240307", "anthropic/claude-3-haiku"),
    ],
)
async def test_typos_get_the_closest_ids(stdio_client: Client, typo: str, meant: str) -> None:
    out = await call(stdio_client, "validate_model", model=typo)
    assert not out["usable"] and not out["retired"]
    assert meant in out["suggestions"][:2] and len(out["suggestions"]) <= 5


async def test_chat_with_a_retired_model_names_the_successor_and_sends_nothing(stdio_client: Client, sim_log: Any) -> None:
    mark = sim_log.mark()
    result = await stdio_client.call_tool("chat_completion", {"model": "anthropic/claude-3-opus", "messages": [{"role": "user", "content": "hi"}]})
    error = error_of(result)
    assert error["code"] == "MODEL_NOT_FOUND" and error["suggestions"][0] == "anthropic/claude-opus-4.5"
    assert "successor is anthropic/claude-opus-4.5" in error["message"]
    assert sim_log.chats(mark) == []
