"""Every limit a tool enforces on a number is stated in its input schema: a value at each stated bound (just
inside an exclusive one), and a value far out on a side the schema leaves open, is never refused as invalid
for that field. The converse (a value just past a stated bound is refused) is tests/test_number_fields.py.

The server under test has a daily budget far below any call's worst case. The budget is checked after every
argument, so a paid probe ends in BUDGET_EXCEEDED (or JOB_PENDING, when it was told not to wait) once its
arguments have all passed, and never reaches OpenRouter; a free tool simply answers."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from openrouter_mcp.simulator.media import mp4_bytes
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog, server_env
from .media_support import image_bytes, wav_file
from .test_number_fields import EXAMPLES, Place, in_background, places_of, refusal, variants

FAR = 10**12  # "far out", where a schema states no bound
# Arguments a field only has a meaning with (the tool refuses the field without them, rightly).
COMPANIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("ensemble_reasoning", "samples"): {"self_moa": True},
}
# Refusals about the data, not a limit of the field: the catalog has no model that cheap or that long, and a
# ranking needs one weight above 0 (the probe sets only one).
ANSWERS_ABOUT_DATA = {
    ("adaptive_model_selection", "constraints.min_context", 100_000_000),
    ("adaptive_model_selection", "constraints.max_price_per_mtok", 0),
    ("adaptive_model_selection", "constraints.max_cost_per_call_usd", 0),
    ("benchmark_models", "weights.speed", 0),
}
# Where the probe cannot get past the id check: a video job needs a paid call, which the budget refuses.
NEEDS_A_PAID_RECORD = {("get_video_status", "wait_seconds")}


def inside_bounds(place: Place) -> list[Any]:
    lows: list[Any] = []
    highs: list[Any] = []
    for v in variants(place.node, place.defs):
        if "minimum" in v:
            lows.append(v["minimum"])
        if "exclusiveMinimum" in v:
            lows.append(v["exclusiveMinimum"] + 1 if place.integer else math.nextafter(v["exclusiveMinimum"], math.inf))
        if "maximum" in v:
            highs.append(v["maximum"])
        if "exclusiveMaximum" in v:
            highs.append(v["exclusiveMaximum"] - 1 if place.integer else math.nextafter(v["exclusiveMaximum"], -math.inf))
    return sorted({min(lows) if lows else -FAR, max(highs) if highs else FAR})


@pytest.fixture(scope="module")
async def tight_client(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    home = tmp_path_factory.mktemp("limits")
    inputs = home / "in"
    inputs.mkdir()
    (inputs / "photo.png").write_bytes(image_bytes((64, 48)))
    (inputs / "clip.wav").write_bytes(wav_file(1.0))
    (inputs / "clip.mp4").write_bytes(mp4_bytes(2, 16))
    (inputs / "paper.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    env = server_env(simulator, home, OPENROUTER_INPUT_DIR=str(inputs), OPENROUTER_MCP_DAILY_BUDGET_USD="0.0000001")
    async with ClientHolder(StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)) as client:
        yield client


async def test_no_number_is_refused_by_a_limit_its_schema_does_not_state(tight_client: Client, sim_log: SimLog) -> None:
    places = await places_of(tight_client)
    # A real job for get_job's own numbers: a call told not to wait answers with one.
    pending = refusal(await tight_client.call_tool("chat_completion", {"messages": [{"role": "user", "content": "hi"}], "wait_seconds": 0}))
    assert pending is not None and pending["code"] == "JOB_PENDING", pending
    job_id = pending["details"]["job_id"] if "details" in pending and "job_id" in pending["details"] else pending["message"].split(" job ")[1].split(";")[0]

    mark = len(sim_log.entries())
    wrong, unreached, reached = [], [], 0
    for place in places:
        for value in inside_bounds(place):
            arguments = {**place.arguments(value), **COMPANIONS.get((place.tool, place.field), {})}
            if place.tool == "collective_chat_completion" and place.field.startswith("weights."):
                # Its weights are per model, and only the weighted strategy reads them.
                arguments.update(weights={"openai/gpt-4o-mini": value}, models=["openai/gpt-4o-mini", "google/gemini-2.5-flash"], strategy="weighted")
            if place.tool == "get_job":
                arguments["job_id"] = job_id
            error = refusal(await tight_client.call_tool(place.tool, arguments))
            probe = f"{place.tool} {place.field}={value!r}"
            if error is None or error["code"] in ("BUDGET_EXCEEDED", "JOB_PENDING", "JOB_FAILED"):
                reached += 1
                continue
            names = (error.get("details") or {}).get("field") or error["message"].split(":")[0]
            if error["code"] in ("INVALID_INPUT", "TOO_LARGE") and names.split(".")[0] == place.field.split(".")[0].split("[")[0]:
                if (place.tool, place.field, value) not in ANSWERS_ABOUT_DATA:
                    wrong.append(f"{probe}: refused though the schema allows it: {error['message']}")
            elif (place.tool, place.field) not in NEEDS_A_PAID_RECORD:
                unreached.append(f"{probe}: stopped by another check: {error['code']} {error['message']}")
    assert not wrong, "\n".join(wrong)
    assert not unreached, "\n".join(unreached)
    assert reached >= 100, reached
    # No paid request reached OpenRouter: every paid probe ended at the budget (a free model's call, the
    # key's own limits and a video's status cost nothing, so the budget lets them through).
    paid = [(e["method"], e["path"], e.get("body")) for e in sim_log.entries()[mark:] if e["method"] == "POST" and not in_background(e)]
    assert all(str((body or {}).get("model", "")).endswith(":free") for _, _, body in paid), paid



LONG = 300  # "many", where a schema states no maxItems


def _item(field: str, i: int, models: list[str]) -> Any:
    """A valid member of a list argument (the i-th: model lists take no repeats everywhere)."""
    items: dict[str, Any] = {
        "messages": {"role": "user", "content": "hi"},
        "tools": {"type": "function", "function": {"name": f"f{i}", "parameters": {"type": "object", "properties": {}}}},
        "plugins": {"id": "web"},
        "modalities": "text",
        "transforms": "middle-out",
        "input_modalities": "text",
        "output_modalities": "text",
        "supports": "tools",
        "input_images": "photo.png",
        "reference_images": "photo.png",
        "criteria": f"criterion {i}",
        "prompts": f"What is {i} + 1?",
        "documents": f"document {i}",
        "input": f"text {i}",
        "stop": f"STOP{i}",
    }
    if field in ("models", "proposers", "judges"):
        return models[i % len(models)]
    return items.get(field, f"x{i}")


async def test_no_list_is_refused_for_a_length_its_schema_does_not_state(tight_client: Client) -> None:
    """The same for list arguments: as many members as the schema's maxItems allows (or many, where it states
    no maximum), and as few as its minItems, are never refused as too many or too few."""
    found = await tight_client.call_tool("search_models", {"output_modalities": ["text"], "limit": 100})
    models = [m["id"] for m in (found.structured_content or {})["models"] if not m["id"].startswith(("openrouter/", "sim/"))]
    tools = (await tight_client.list_tools()).tools
    wrong, unreached, probes = [], [], 0
    for tool in tools:
        schema = tool.input_schema
        props = schema.get("properties") or {}
        for field, node in props.items():
            for v in variants(node, schema.get("$defs") or {}):
                if v.get("type") != "array":
                    continue
                for count in sorted({v.get("maxItems", LONG), v.get("minItems", 1)}):
                    arguments = {k: EXAMPLES.get(k, "x") for k in schema.get("required") or () if k != field}
                    if tool.name == "benchmark_models" and field != "models":
                        arguments["models"] = models[:2]
                    arguments[field] = [_item(field, i, models) for i in range(count)]
                    error = refusal(await tight_client.call_tool(tool.name, arguments))
                    probes += 1
                    if error is None or error["code"] in ("BUDGET_EXCEEDED", "JOB_PENDING"):
                        continue
                    named = (error.get("details") or {}).get("field") or error["message"].split(":")[0]
                    probe = f"{tool.name} {field} with {count} members: {error['code']} {error['message'][-160:]}"
                    if error["code"] in ("INVALID_INPUT", "TOO_LARGE") and named.split(".")[0].split("[")[0] == field:
                        wrong.append(probe)
                    else:
                        unreached.append(probe)
    assert not wrong, "refused though the schema allows it:\n" + "\n".join(wrong)
    assert not unreached, "stopped by another check:\n" + "\n".join(unreached)
    assert probes >= 25, probes


@pytest.mark.parametrize("era", ["2026-07-28", "legacy"])
async def test_the_default_tools_list_averages_at_most_1200_bytes_a_tool(era: str, simulator: RunningSimulator, tmp_path: Path) -> None:
    """Every client puts tools/list into the model's context on every turn: the whole list, as sent on the
    wire (the same measure as figure (d) of benchmarks/server_overhead.py), stays at 1.2 KB a tool or less, in
    both protocol eras (a 2025-11-25 listing also says which tools run as tasks, `execution.taskSupport`)."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=server_env(simulator, tmp_path))
    async with Client(params, mode=era) as client:  # type: ignore[arg-type]
        result = await client.list_tools()
    wire = json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")).encode()
    per_tool = len(wire) / len(result.tools)
    print(f"tools/list ({era}): {len(wire)} bytes, {len(result.tools)} tools, {per_tool:.0f} bytes a tool")
    assert per_tool <= 1200, f"{len(wire)} bytes for {len(result.tools)} tools: {per_tool:.0f} a tool"
