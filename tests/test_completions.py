"""`completion/complete` suggests model ids from the catalog for every model argument of the prompts and
resource templates, mistyped ones included: our server as a subprocess, the official MCP client over
stdio in both protocol eras, the simulator's catalog upstream."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from openrouter_mcp.resources import MODEL_ARGUMENTS, MODEL_TEMPLATE


def prompt(name: str) -> PromptReference:
    return PromptReference(type="ref/prompt", name=name)


TEMPLATE = ResourceTemplateReference(type="ref/resource", uri=MODEL_TEMPLATE)


async def values(client: Client, ref: Any, name: str, typed: str) -> list[str]:
    result = await client.complete(ref, {"name": name, "value": typed})
    assert len(result.completion.values) <= 100
    return list(result.completion.values)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("anthropic/claude-sonet-4.5", "anthropic/claude-sonnet-4.5"),  # a letter missing
        ("opneai/gpt-4o-mini", "openai/gpt-4o-mini"),  # letters swapped in the author
        ("openai/gpt-4o-mni", "openai/gpt-4o-mini"),
        ("gpt-4o-mini", "openai/gpt-4o-mini"),  # no author
    ],
)
async def test_a_misspelt_model_id_completes_to_the_right_one(stdio_params: StdioServerParameters, mode: str, typed: str, meant: str) -> None:
    async with Client(stdio_params, mode=mode, read_timeout_seconds=60) as client:
        assert (await values(client, prompt("second_opinion"), "model", typed))[:3].count(meant) == 1
        assert meant in (await values(client, TEMPLATE, "model_id", typed))[:3]


async def test_every_model_argument_of_every_prompt_and_template_completes(stdio_client: Client) -> None:
    listed = (await stdio_client.list_prompts()).prompts
    model_args = [(p.name, a.name) for p in listed for a in p.arguments or [] if a.name in MODEL_ARGUMENTS]
    # Every prompt has at least one model argument.
    assert {name for name, _ in model_args} == {p.name for p in listed}
    for name, arg in model_args:
        got = await values(stdio_client, prompt(name), arg, "anthropic/claude-son")
        assert got and all("anthropic/claude" in v for v in got[:3]), (name, arg, got)
    templates = [t.uri_template for t in (await stdio_client.list_resource_templates()).resource_templates]
    assert MODEL_TEMPLATE in templates


async def test_a_prefix_lists_the_ids_that_start_with_it_and_an_empty_value_lists_the_newest(stdio_client: Client) -> None:
    got = await values(stdio_client, TEMPLATE, "model_id", "openai/gpt-4o")
    assert got[0].startswith("openai/gpt-4o")
    assert all(v.startswith("openai/gpt-4o") for v in got[:3])
    everything = await stdio_client.complete(TEMPLATE, {"name": "model_id", "value": ""})
    assert len(everything.completion.values) == 100 and everything.completion.total is not None and everything.completion.total > 100
    assert everything.completion.has_more is True


async def test_in_a_list_of_models_the_last_one_is_completed_and_the_others_kept(stdio_client: Client) -> None:
    got = await values(stdio_client, prompt("compare_models"), "models", "openai/gpt-4o-mini,anthropic/claude-sonet-4.5")
    assert got[0] == "openai/gpt-4o-mini,anthropic/claude-sonnet-4.5"


async def test_an_argument_that_names_no_model_gets_no_values(stdio_client: Client) -> None:
    assert await values(stdio_client, prompt("second_opinion"), "question", "gpt") == []


async def test_a_prompt_or_template_the_server_does_not_have_is_invalid_params(stdio_client: Client) -> None:
    for ref in (prompt("no_such_prompt"), ResourceTemplateReference(type="ref/resource", uri="openrouter://nothing/{x}")):
        with pytest.raises(MCPError) as caught:
            await stdio_client.complete(ref, {"name": "model", "value": "gpt"})
        assert caught.value.error.code == -32602


async def test_a_model_argument_the_prompt_does_not_have_gets_no_values(stdio_client: Client) -> None:
    assert await values(stdio_client, prompt("compare_models"), "model", "gpt") == []
