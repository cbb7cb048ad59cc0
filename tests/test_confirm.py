"""Asking before spending (OPENROUTER_MCP_CONFIRM_ABOVE_USD), end to end: our server as a subprocess, the
official MCP client in both protocol eras (handshake-era `elicitation/create`, 2026-07-28
`input_required`), the simulator upstream, whose request log proves whether anything was sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import ElicitResult

from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, SimLog, error_of, server_env

# A chat of at most 2000 tokens on gpt-4o-mini may cost about $0.0012: above this threshold.
THRESHOLD = "0.0001"
CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 2000}


class Person:
    """The client's elicitation handler: answers every question with `action` and keeps what it was asked."""

    def __init__(self, action: str, content: dict[str, Any] | None = None) -> None:
        self.action = action
        self.content = content
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.asked.append(params.message)
        return ElicitResult(action=self.action, content=self.content if self.action == "accept" else None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def confirm_params(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> StdioServerParameters:
    env = server_env(simulator, tmp_path_factory.mktemp("confirm-home"), OPENROUTER_MCP_CONFIRM_ABOVE_USD=THRESHOLD)
    return StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)


async def _call(target: Any, mode: str, person: Person | None, args: dict[str, Any], tool: str = "chat_completion") -> Any:
    """One tool call from a fresh client of the given era, with or without an elicitation handler."""
    async with Client(target, mode=mode, elicitation_callback=person, read_timeout_seconds=60) as client:  # type: ignore[arg-type]
        return await client.call_tool(tool, args)


ERAS = ["legacy", "2026-07-28"]


@pytest.mark.parametrize("mode", ERAS)
async def test_an_accepted_question_lets_the_call_through(confirm_params: StdioServerParameters, sim_log: SimLog, mode: str) -> None:
    person = Person("accept", {"proceed": True})
    before = len(sim_log.chats())
    result = await _call(confirm_params, mode, person, CHAT)
    assert not result.is_error, result.content[0].text
    assert len(person.asked) == 1
    assert person.asked[0].startswith("This may cost up to $0.00") and person.asked[0].endswith(" on openai/gpt-4o-mini. Proceed?")
    assert len(sim_log.chats()) == before + 1
    assert result.structured_content["model"] == "openai/gpt-4o-mini"


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("action", "content", "reason"), [("decline", None, "declined"), ("cancel", None, "cancelled"), ("accept", {"proceed": False}, "declined")]
)
async def test_a_declined_question_sends_nothing_and_says_so(
    confirm_params: StdioServerParameters, sim_log: SimLog, mode: str, action: str, content: dict[str, Any] | None, reason: str
) -> None:
    person = Person(action, content)
    before = sim_log.mark()
    result = await _call(confirm_params, mode, person, CHAT)
    error = error_of(result)
    assert error["code"] == "BUDGET_EXCEEDED"
    assert error["details"]["reason"] == reason and error["details"]["window"] == "confirm"
    assert "Nothing was sent to OpenRouter and nothing was billed" in error["message"]
    assert len(person.asked) == 1
    # Not a single request reached the upstream: no chat, and no generation lookups either.
    assert [e["path"] for e in sim_log.entries()[before:] if not e["path"].endswith("/models")] == []


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_without_elicitation_is_refused_and_max_cost_usd_is_consent(confirm_params: StdioServerParameters, sim_log: SimLog, mode: str) -> None:
    before = len(sim_log.chats())
    error = error_of(await _call(confirm_params, mode, None, CHAT))
    assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["reason"] == "cannot_ask"
    assert "does not support elicitation" in error["message"] and "call again with max_cost_usd=" in error["message"]
    assert len(sim_log.chats()) == before
    estimate = error["details"]["estimate_usd"]
    assert estimate > float(THRESHOLD)
    # The figure the refusal names is enough: at or above the estimate counts as consent.
    named = float(error["message"].split("max_cost_usd=")[1].split(" ")[0])
    assert named >= estimate
    result = await _call(confirm_params, mode, None, {**CHAT, "max_cost_usd": named})
    assert not result.is_error, result.content[0].text
    assert len(sim_log.chats()) == before + 1


async def test_a_call_under_the_threshold_is_not_asked(confirm_params: StdioServerParameters, sim_log: SimLog) -> None:
    person = Person("decline")
    before = len(sim_log.chats())
    result = await _call(confirm_params, "legacy", person, {**CHAT, "max_tokens": 10})
    assert not result.is_error and person.asked == []
    assert len(sim_log.chats()) == before + 1


async def test_a_run_is_asked_once_for_its_whole_worst_case(confirm_params: StdioServerParameters, sim_log: SimLog) -> None:
    person = Person("accept", {"proceed": True})
    before = len(sim_log.chats())
    args = {"prompt": "2+2?", "models": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"], "max_tokens": 500}
    result = await _call(confirm_params, "2026-07-28", person, args, tool="collective_chat_completion")
    assert not result.is_error, result.content[0].text
    assert len(person.asked) == 1 and person.asked[0].startswith("This run may cost up to $")
    assert len(sim_log.chats()) > before


async def test_over_http_modern_clients_are_asked_and_handshake_clients_without_a_channel_are_refused(
    simulator: RunningSimulator, sim_log: SimLog, tmp_path: Path
) -> None:
    server = HttpServer(server_env(simulator, tmp_path / "home", OPENROUTER_MCP_CONFIRM_ABOVE_USD=THRESHOLD), tmp_path / "http.log")
    try:
        person = Person("accept", {"proceed": True})
        before = len(sim_log.chats())
        result = await _call(server.url, "2026-07-28", person, CHAT)
        assert not result.is_error, result.content[0].text
        assert len(person.asked) == 1 and len(sim_log.chats()) == before + 1
        declined = Person("decline")
        assert error_of(await _call(server.url, "2026-07-28", declined, CHAT))["details"]["reason"] == "declined"
        assert len(sim_log.chats()) == before + 1
        # The team server is stateless: a handshake-era call has no channel for elicitation/create.
        refused = error_of(await _call(server.url, "legacy", Person("accept", {"proceed": True}), CHAT))
        assert refused["details"]["reason"] == "cannot_ask" and "stateless HTTP" in refused["message"]
        assert len(sim_log.chats()) == before + 1
    finally:
        server.stop()


async def test_a_tools_own_default_cap_is_not_consent_but_the_callers_max_cost_usd_is(confirm_params: StdioServerParameters, sim_log: SimLog) -> None:
    # benchmark_models caps a run at $1 when the caller names no max_cost_usd: that default is no consent.
    args = {"models": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"], "prompts": ["2+2?"], "runs": 1, "warmup": 0, "max_tokens": 64}
    declined = Person("decline")
    before = len(sim_log.chats())
    error = error_of(await _call(confirm_params, "legacy", declined, args, tool="benchmark_models"))
    assert error["details"]["reason"] == "declined" and len(declined.asked) == 1
    assert declined.asked[0].startswith("This benchmark's 2 calls may cost up to $")
    assert len(sim_log.chats()) == before
    # Naming a max_cost_usd at or above the worst case is consent: not asked, and run.
    unasked = Person("decline")
    result = await _call(confirm_params, "legacy", unasked, {**args, "max_cost_usd": 0.5}, tool="benchmark_models")
    assert not result.is_error, result.content[0].text
    assert unasked.asked == [] and len(sim_log.chats()) == before + 2
