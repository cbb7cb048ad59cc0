"""Results tell the whole cost: every collective tool and `benchmark_models`, run through a real MCP client
against a simulator of this module's own with a model that is billed and then fails mid-stream
(`sim/mid-stream-error`), reports in `cost_usd` exactly what the simulator billed for the run, and in
`wasted_usd` exactly what it billed for the calls that failed. The cost lookup itself is bounded."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.billing import carried_cost, generation_costs
from openrouter_mcp.simulator import quiz
from openrouter_mcp.simulator.server import RunningSimulator, start_in_thread
from openrouter_mcp.upstream.gateway import Gateway

from .conftest import ClientHolder, server_env
from .test_gateway_stream import gateway_at, one_shot_server

FAILS = "sim/mid-stream-error"  # streams a few words (billed), then an error event
EXACT = Decimal("1e-9")


@pytest.fixture(scope="module")
def own_sim() -> Iterator[RunningSimulator]:
    """A simulator of this module's own: its bill covers only these tests' calls."""
    sim = start_in_thread()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
async def client(own_sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    home = tmp_path_factory.mktemp("run-costs")
    env = server_env(own_sim, home, OPENROUTER_MCP_TOOLSETS="collective,bench,jobs")
    async with ClientHolder(StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)) as c:
        yield c


def generations(sim: RunningSimulator) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(sim.url + "/_sim/generations") as resp:
        return {g["id"]: g for g in json.load(resp)["data"]}


async def run_and_bill(client: Client, sim: RunningSimulator, tool: str, args: dict[str, Any]) -> tuple[dict[str, Any], str, Decimal, Decimal]:
    """The tool's structured result and text, what the simulator billed for this call in all, and what it
    billed for the generations that ended in an error."""
    before = set(generations(sim))
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    new = [g for gid, g in generations(sim).items() if gid not in before]
    billed = sum((Decimal(g["cost"]) for g in new), Decimal(0))
    failed = sum((Decimal(g["cost"]) for g in new if g["finish_reason"] == "error"), Decimal(0))
    assert any(g["model"] == FAILS and Decimal(g["cost"]) > 0 for g in new), new  # the failing model was billed
    return result.structured_content, result.content[0].text, billed, failed


def assert_whole_cost(out: dict[str, Any], text: str, billed: Decimal, failed: Decimal) -> None:
    assert failed > 0
    assert abs(Decimal(repr(out["cost_usd"])) - billed) <= EXACT, (out["cost_usd"], billed)
    assert abs(Decimal(repr(out["wasted_usd"])) - failed) <= EXACT, (out["wasted_usd"], failed)
    assert out["unknown_cost_calls"] == 0
    assert "on failed calls" in text, text


QUESTION = quiz.QUESTIONS[0].prompt


async def test_collective_chat_completion_reports_the_failed_calls_bill(client: Client, own_sim: RunningSimulator) -> None:
    args = {"prompt": QUESTION, "models": ["quiz/acc-90-a", FAILS, "quiz/acc-90-b"], "early_stop": False}
    out, text, billed, failed = await run_and_bill(client, own_sim, "collective_chat_completion", args)
    assert_whole_cost(out, text, billed, failed)
    (failure,) = out["failures"]
    assert failure["model"] == FAILS
    # The failed call's answer entry carries its own bill too.
    assert abs(Decimal(repr(next(a for a in out["answers"] if a["model"] == FAILS)["cost_usd"])) - failed) <= EXACT


async def test_ensemble_reasoning_reports_the_failed_calls_bill(client: Client, own_sim: RunningSimulator) -> None:
    args = {"problem": QUESTION, "proposers": ["quiz/acc-90-a", FAILS], "aggregator": "quiz/acc-90-b", "layers": 2}
    out, text, billed, failed = await run_and_bill(client, own_sim, "ensemble_reasoning", args)
    assert_whole_cost(out, text, billed, failed)
    assert len([f for f in out["failures"] if f["model"] == FAILS]) == 2  # once per layer


async def test_cross_model_validation_reports_the_failed_judges_bill(client: Client, own_sim: RunningSimulator) -> None:
    args = {"content": "The answer is 42.", "context": QUESTION, "models": ["judge/rel-90-a", FAILS, "judge/rel-90-b"]}
    out, text, billed, failed = await run_and_bill(client, own_sim, "cross_model_validation", args)
    assert_whole_cost(out, text, billed, failed)


async def test_collaborative_problem_solving_reports_the_failed_agents_bill(client: Client, own_sim: RunningSimulator) -> None:
    args = {"problem": QUESTION, "models": ["quiz/acc-90-a", "quiz/acc-50-a", FAILS], "max_rounds": 2}
    out, text, billed, failed = await run_and_bill(client, own_sim, "collaborative_problem_solving", args)
    assert_whole_cost(out, text, billed, failed)


async def test_benchmark_models_reports_the_failed_calls_bill(client: Client, own_sim: RunningSimulator) -> None:
    args = {"models": ["bench/swift", FAILS], "prompts": ["Say hi.", "Name a colour."], "runs": 2, "warmup": 1}
    out, text, billed, failed = await run_and_bill(client, own_sim, "benchmark_models", args)
    assert_whole_cost(out, text, billed, failed)
    assert abs(Decimal(out["cost_usd_exact"]) - billed) <= EXACT
    by_model = {m["model"]: m for m in out["models"]}
    assert by_model[FAILS]["ok"] == 0 and abs(Decimal(by_model[FAILS]["cost_usd_exact"]) - failed) <= EXACT  # warm-up included
    assert by_model[FAILS]["cost_per_call_usd"] is None  # a failed call is no call's price


# ---------- the lookup on its own ----------


async def test_a_cost_never_recorded_is_unknown_after_a_bounded_wait(own_sim: RunningSimulator, tmp_path: Path) -> None:
    """OpenRouter may record a generation late, or never: the lookup asks again, but gives up within the wait."""
    req = urllib.request.Request(
        own_sim.api_url + "/chat/completions",
        data=json.dumps({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"Authorization": f"Bearer {SIMULATOR_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        known = generations(own_sim)[json.load(resp)["id"]]
    settings = load_settings({"OPENROUTER_MCP_HOME": str(tmp_path), "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_BASE_URL": own_sim.api_url})
    gateway = Gateway(settings)
    try:
        started = time.perf_counter()
        costs = await generation_costs(gateway, [known["id"], "gen-never-recorded"], wait_s=0.8)
        waited = time.perf_counter() - started
        started = time.perf_counter()
        once = await generation_costs(gateway, [known["id"], "gen-never-recorded"], wait_s=0)
        looked_once = time.perf_counter() - started
    finally:
        await gateway.aclose()
    assert costs == once == {known["id"]: Decimal(known["cost"])}
    assert 0.5 <= waited < 2.0, waited  # asked again, then given up at the bound
    assert looked_once < 0.5, looked_once  # a call this server cut off is asked for once, without waiting


async def test_a_failed_stream_that_carries_its_usage_reports_that_cost() -> None:
    events = [
        {"id": "gen-local-9", "model": "local/model", "choices": [{"index": 0, "delta": {"content": "Half an"}, "finish_reason": None}]},
        {
            "id": "gen-local-9",
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            "error": {"code": 502, "message": "Provider disconnected"},
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "cost": 0.000012345},
        },
    ]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    async with one_shot_server("identity", body) as (url, _):
        gateway = gateway_at(url)
        try:
            with pytest.raises(ToolFailure) as raised:
                await gateway.chat({"model": "local/model", "messages": [{"role": "user", "content": "hi"}]})
        finally:
            await gateway.aclose()
    assert raised.value.generation_id == "gen-local-9"
    assert carried_cost(raised.value) == Decimal("0.000012345")
    assert carried_cost(ToolFailure(ErrorCode.UPSTREAM_ERROR, "no usage")) is None
