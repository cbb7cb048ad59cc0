"""No tool drops an argument it does not know: every tool refuses one with INVALID_INPUT naming it, the
closest argument it does take (the one meant, for a misspelling), and the full list, before anything is sent;
the input schemas say so."""

from __future__ import annotations

from mcp import Client

from .conftest import SimLog
from .test_number_fields import filled, refusal, sent_since


async def test_every_tool_refuses_an_unknown_argument_before_any_request(mcp_client: Client, sim_log: SimLog) -> None:
    tools = (await mcp_client.list_tools()).tools
    assert len(tools) >= 28
    mark = sim_log.mark()
    wrong = []
    for tool in tools:
        schema = tool.input_schema
        assert schema.get("additionalProperties") is False, tool.name
        accepted = list(schema.get("properties") or {})
        # A slip of the pen on the tool's own last argument (or, for a tool that takes none, any name).
        meant = accepted[-1] if accepted else None
        unknown = f"{meant}s" if meant else "bogus_argument"
        arguments = {**filled(schema, schema.get("$defs") or {}), unknown: 1}
        error = refusal(await mcp_client.call_tool(tool.name, arguments))
        if error is None:
            wrong.append(f"{tool.name}: accepted")
            continue
        details = error.get("details") or {}
        suggestion = f"; did you mean `{meant}`?" if meant else ""
        if error["code"] != "INVALID_INPUT" or details.get("field") != unknown:
            wrong.append(f"{tool.name}: {error}")
        elif f"`{unknown}` is not an argument of {tool.name}{suggestion}" not in error["message"]:
            wrong.append(f"{tool.name}: {error['message']}")
        elif details.get("accepted") != accepted:
            wrong.append(f"{tool.name}: accepted {details.get('accepted')}")
    assert not wrong, "\n".join(wrong)
    assert sent_since(sim_log, mark) == []


async def test_a_misspelt_argument_gets_the_one_it_meant(mcp_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    cases = [
        ("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "temprature": 0.2}, "temprature", "temperature"),
        ("search_models", {"querry": "gpt"}, "querry", "query"),
        ("benchmark_models", {"models": ["a/b", "c/d"], "prompt": "hi"}, "prompt", "prompts"),
        ("collaborative_problem_solving", {"problem": "2+2", "max_round": 1}, "max_round", "max_rounds"),
        # The other OpenRouter MCP servers' names get the argument that means the same here.
        ("search_models", {"filter_by": "gpt"}, "filter_by", "query"),
        ("collaborative_problem_solving", {"problem": "2+2", "max_iterations": 1}, "max_iterations", "max_rounds"),
        ("free_chat", {"message": "hi", "system_prompt": "Be brief."}, "system_prompt", "system"),
        ("generate_video", {"prompt": "a boat", "image": "boat.png"}, "image", "first_frame_image"),
    ]
    for tool, arguments, field, meant in cases:
        error = refusal(await mcp_client.call_tool(tool, arguments))
        assert error is not None and error["code"] == "INVALID_INPUT", (tool, error)
        assert error["details"]["field"] == field
        assert f"`{field}` is not an argument of {tool}; did you mean `{meant}`? {tool} takes: " in error["message"], error["message"]
    assert sent_since(sim_log, mark) == []


async def test_openrouter_fields_chat_completion_leaves_out_are_refused_with_the_reason(mcp_client: Client, sim_log: SimLog) -> None:
    """OpenRouter's own request fields that chat_completion does not take on purpose: refused before any
    request, saying why and what to send instead."""
    mark = sim_log.mark()
    cases = {
        "stream": "returns the whole reply",
        "n": "collective_chat_completion",
        "reasoning_effort": "reasoning={effort: ...}",
        "route": "models=[...]",
        "cache_control": "inside messages",
    }
    for field, fix in cases.items():
        error = refusal(await mcp_client.call_tool("chat_completion", {"messages": [{"role": "user", "content": "hi"}], field: True}))
        assert error is not None and error["code"] == "INVALID_INPUT" and error["details"]["field"] == field, error
        assert f"chat_completion does not take `{field}`: " in error["message"] and fix in error["message"], error["message"]
    assert sent_since(sim_log, mark) == []
