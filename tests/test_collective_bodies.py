"""Request bodies and worst cases the collective tools and benchmarks build: a built-in schema skips the
schema check but the body is the one the chat tool would send, and a benchmark's jury estimate counts
every jury it may seat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from openrouter_mcp.app import App
from openrouter_mcp.config import SIMULATOR_KEY, load_settings
from openrouter_mcp.services import collective as c
from openrouter_mcp.services.bench import runner as bench
from openrouter_mcp.services.chat import build_request
from openrouter_mcp.services.pricing import estimate_chat_usd
from openrouter_mcp.simulator.server import RunningSimulator


@pytest.fixture(params=[{}, {"OPENROUTER_PROVIDER_SORT": "price", "OPENROUTER_PROVIDER_IGNORE": "azure"}])
async def app(request: pytest.FixtureRequest, simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[App]:
    env = {"OPENROUTER_BASE_URL": simulator.api_url, "OPENROUTER_API_KEY": SIMULATOR_KEY, "OPENROUTER_MCP_HOME": str(tmp_path), **request.param}
    application = App(load_settings(env))
    yield application
    await application.aclose()


async def test_a_built_in_schema_gives_the_body_the_chat_tool_would_build(app: App) -> None:
    limits = c.Limits.from_args(app, {"temperature": 0})
    messages = [{"role": "user", "content": "Review this."}]
    for fmt in (c.verdict_format(["correctness", "clarity"]), c.plan_schema()):
        body = await c.chat_body(app, "quiz/acc-70-a", messages, limits, sample=1, response_format=fmt)
        args = {"model": "quiz/acc-70-a", "messages": messages, "max_tokens": limits.max_tokens, "temperature": 0.0, "seed": 1}
        expected = build_request({**args, "response_format": fmt, "provider": {"require_parameters": True}}, app.settings).body
        assert json.dumps(body) == json.dumps(expected)  # same keys, values and order


async def test_a_benchmark_counts_every_jury_once_per_candidate_and_run(app: App) -> None:
    prompts = [{"prompt": "Explain tides.", "judge_criteria": "correct; clear"}, "Say hi.", {"prompt": "Explain rain.", "judge_criteria": "short"}]
    cfg = bench.build_config(
        {"models": ["quiz/acc-70-a", "quiz/acc-90-b", "openai/gpt-4o-mini"], "prompts": prompts, "runs": 2, "judges": ["quiz/acc-70-a", "openai/gpt-4o-mini"]},
        app.settings,
    )
    plan = await bench.make_plan(app, cfg)
    expected, calls = Decimal(0), 0
    for _, _, body in plan.warmups:
        expected += await estimate_chat_usd(app, body)
    for _, _, _, body in plan.measured:
        expected += await estimate_chat_usd(app, body)
    for m in cfg.models:
        for p in cfg.prompts:
            if p.judge_criteria:
                jury = bench.jury_plan(app, cfg, m, p, "x" * (3 * cfg.max_tokens))
                calls += cfg.runs * len(jury.judges)
                expected += cfg.runs * (await c.jury_requests(app, jury))[1]
    assert plan.judge_calls == calls == 2 * (1 + 1 + 2) * 2
    assert plan.estimate_usd == expected
