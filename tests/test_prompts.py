"""The prompts a person picks from the client's menu, rendered through the official MCP client over stdio
(our server as a subprocess, the simulator's catalog upstream): each with its arguments, each leading
the assistant to call this server's tools, and a wrong argument answered with a protocol error that
names the argument and the fix."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

PROMPTS = {"second_opinion", "compare_models", "cheapest_model", "spend_summary"}


def text_of(result: object) -> str:
    messages = result.messages  # type: ignore[attr-defined]
    assert len(messages) == 1 and messages[0].role == "user"
    return str(messages[0].content.text)


async def test_the_menu_lists_each_prompt_with_a_title_and_its_arguments(stdio_client: Client) -> None:
    listed = {p.name: p for p in (await stdio_client.list_prompts()).prompts}
    assert set(listed) == PROMPTS
    for p in listed.values():
        assert p.title and p.description and p.arguments
        assert all(a.description for a in p.arguments)
    required = {name: {a.name for a in p.arguments or [] if a.required} for name, p in listed.items()}
    assert required == {"second_opinion": {"question"}, "compare_models": {"prompt", "models"}, "cheapest_model": {"task"}, "spend_summary": set()}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_second_opinion_names_the_model_and_the_question(stdio_params: StdioServerParameters, mode: str) -> None:
    async with Client(stdio_params, mode=mode, read_timeout_seconds=60) as client:
        args = {"question": "Is 1009 prime?", "answer": "Yes.", "current_model": "openai/gpt-4o-mini", "model": "anthropic/claude-sonnet-4.5"}
        text = text_of(await client.get_prompt("second_opinion", args))
    assert 'Call chat_completion with model="anthropic/claude-sonnet-4.5"' in text
    assert "Is 1009 prime?" in text and "Answer to review (from openai/gpt-4o-mini):\nYes." in text
    assert "untrusted" in text


async def test_second_opinion_without_a_model_asks_for_one_of_another_family(stdio_client: Client) -> None:
    text = text_of(await stdio_client.get_prompt("second_opinion", {"question": "Why is the sky blue?", "current_model": "openai/gpt-4o-mini"}))
    assert "not made by openai" in text and "search_models" in text and "chat_completion" in text


async def test_second_opinion_refuses_a_model_of_the_same_family(stdio_client: Client) -> None:
    with pytest.raises(MCPError) as caught:
        await stdio_client.get_prompt("second_opinion", {"question": "q", "current_model": "openai/gpt-4o-mini", "model": "openai/gpt-4o"})
    assert caught.value.error.code == -32602
    assert "same family (openai)" in caught.value.error.message and "another family" in caught.value.error.message


async def test_compare_models_renders_a_benchmark_call_with_the_models_and_the_prompt(stdio_client: Client) -> None:
    args = {"prompt": "Write a haiku about rain", "models": "openai/gpt-4o-mini, anthropic/claude-sonnet-4.5", "max_cost_usd": "0.5"}
    text = text_of(await stdio_client.get_prompt("compare_models", args))
    call = json.loads(text.split("call benchmark_models with ", 1)[1].split(', with "max_cost_usd"')[0])
    assert call == {"models": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"], "prompts": ["Write a haiku about rain"], "runs": 1}
    assert '"max_cost_usd": 0.5' in text


@pytest.mark.parametrize(
    ("models", "said"),
    [
        ("openai/gpt-4o-mini", "name at least two models"),
        ("openai/gpt-4o-mini,anthropic/claude-sonet-4.5", "anthropic/claude-sonnet-4.5"),  # the fix for the typo
    ],
)
async def test_compare_models_names_what_is_wrong_with_the_models(stdio_client: Client, models: str, said: str) -> None:
    with pytest.raises(MCPError) as caught:
        await stdio_client.get_prompt("compare_models", {"prompt": "p", "models": models})
    assert caught.value.error.code == -32602
    assert caught.value.error.message.startswith("models: ") and said in caught.value.error.message


async def test_cheapest_model_leads_to_selection_search_and_a_baseline(stdio_client: Client) -> None:
    args = {"task": "Classify support emails by urgency", "needs": "structured_outputs", "baseline_model": "anthropic/claude-sonnet-4.5"}
    text = text_of(await stdio_client.get_prompt("cheapest_model", args))
    assert 'adaptive_model_selection with task="Classify support emails by urgency"' in text
    assert "search_models with sort=price" in text and "structured_outputs" in text
    assert "Run the same task on anthropic/claude-sonnet-4.5" in text and "max_cost_usd" in text


async def test_spend_summary_names_the_dates_and_the_model(stdio_client: Client) -> None:
    args = {"start_date": "2026-11-01", "end_date": "2026-11-30", "model": "openai/gpt-4o-mini"}
    text = text_of(await stdio_client.get_prompt("spend_summary", args))
    assert 'get_usage_stats with start_date="2026-11-01" and end_date="2026-11-30"' in text
    assert "Look closer at openai/gpt-4o-mini" in text and "get_account" in text
    with pytest.raises(MCPError) as caught:
        await stdio_client.get_prompt("spend_summary", {"start_date": "11/01/2026"})
    assert caught.value.error.code == -32602 and "start_date" in caught.value.error.message and "YYYY-MM-DD" in caught.value.error.message
