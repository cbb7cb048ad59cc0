"""benchmark_models end to end: our server in its own process, driven by the real MCP client, against
the simulator's paced models (bench/swift, bench/steady, bench/thrifty: set time to first token, speed
and prices), compared with what the simulator itself recorded."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from openrouter_mcp.simulator.catalog import PACED
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import ClientHolder, SimLog, error_of, server_env

MODELS = ["bench/swift", "bench/steady", "bench/thrifty"]
JURY = ["bench/steady", "openai/gpt-4o-mini"]
PROMPTS: list[Any] = [
    {"id": "mul", "prompt": "What is 6 times 7? Answer with the number only.", "expected": 42},
    {
        "id": "city",
        "prompt": "Give the city in 'I moved to Lyon last year.'",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {"id": "haiku", "prompt": "Write a haiku about waiting for a slow server.", "judge_criteria": "Three lines of 5, 7 and 5 syllables; about waiting."},
]


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("bench-home")
    (home / "in").mkdir()
    (home / "out").mkdir()
    return home


def bench_params(simulator: RunningSimulator, home: Path) -> StdioServerParameters:
    env = server_env(simulator, home, OPENROUTER_INPUT_DIR=str(home / "in"), OPENROUTER_OUTPUT_DIR=str(home / "out"), OPENROUTER_MCP_TOOLSETS="bench,jobs")
    return StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)


@asynccontextmanager
async def server_on(simulator: RunningSimulator, home: Path) -> AsyncIterator[Client]:
    async with ClientHolder(bench_params(simulator, home)) as client:
        yield client


@pytest.fixture(scope="module")
async def bench_client(simulator: RunningSimulator, bench_home: Path) -> AsyncIterator[Client]:
    async with server_on(simulator, bench_home) as client:
        yield client


@pytest.fixture(scope="module")
async def measured(bench_client: Client, sim_log: SimLog, bench_home: Path) -> dict[str, Any]:
    """One benchmark of the three paced models, with what the simulator saw while it ran."""
    mark = sim_log.mark()
    usage_before = Decimal(sim_log.usage_usd())
    result = await bench_client.call_tool("benchmark_models", {"models": MODELS, "prompts": PROMPTS, "runs": 3, "warmup": 1, "concurrency": 3, "judges": JURY})
    assert not result.is_error, result.content[0].text
    out = result.structured_content
    assert out is not None
    chats = sim_log.chats(mark)
    usage_after = Decimal(sim_log.usage_usd())
    export = await bench_client.call_tool("export_benchmark_report", {"benchmark_id": out["benchmark_id"], "format": "json"})
    assert not export.is_error, export.content[0].text
    report = json.loads(Path(export.structured_content["path"]).read_text())  # type: ignore[index]
    return {"out": out, "chats": chats, "spent": usage_after - usage_before, "report": report}


def _generation(simulator: RunningSimulator, generation_id: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{simulator.api_url}/generation?id={generation_id}", headers={"Authorization": "Bearer sk-or-sim-local-0000"})
    with urllib.request.urlopen(request) as resp:
        return dict(json.load(resp)["data"])


def _within(measured: float, expected: float, share: float = 0.10) -> bool:
    return abs(measured - expected) <= share * expected


# What a loaded machine may add to a measured time (the server, client and simulator share its cores): a
# benchmark must never report less than the simulator's pacing, but its clock also counts the scheduling.
SCHEDULING_MS = 40.0


def _paced(measured_ms: float, expected_ms: float, share: float = 0.10) -> bool:
    """A measured time matches the pacing it came from: no less than 10 % under it, at most 10 % plus the
    scheduling a loaded machine adds over it."""
    return (1 - share) * expected_ms <= measured_ms <= (1 + share) * expected_ms + SCHEDULING_MS


def test_measured_ttft_latency_and_speed_match_the_simulator_settings_within_10_percent(measured: dict[str, Any]) -> None:
    samples = measured["report"]["samples"]
    for summary in measured["out"]["models"]:
        model = summary["model"]
        ttft_ms, tokens_per_s = PACED[model][:2]
        mine = [s for s in samples if s["model"] == model]
        assert len(mine) == 9 and all(s["ok"] for s in mine), mine
        assert summary["ttft_ms"]["n"] == 9 and summary["latency_ms"]["n"] == 9
        # A reply that arrives in one piece has no rate after its first token: it adds no speed sample.
        assert summary["tokens_per_s"]["n"] == sum(1 for s in mine if s["tokens_per_s"] is not None) >= 6
        assert _paced(summary["ttft_ms"]["median"], ttft_ms), (model, summary["ttft_ms"])
        assert _within(summary["tokens_per_s"]["median"], tokens_per_s), (model, summary["tokens_per_s"])
        # Each reply's latency should be its time to first token plus its tokens at the model's speed.
        expected_latency = statistics.median(ttft_ms + s["completion_tokens"] / tokens_per_s * 1000 for s in mine)
        assert _paced(summary["latency_ms"]["median"], expected_latency), (model, summary["latency_ms"], expected_latency)
        assert summary["latency_ms"]["p90"] >= summary["latency_ms"]["median"]


def test_costs_are_exactly_what_the_simulator_billed(measured: dict[str, Any], simulator: RunningSimulator) -> None:
    out, report = measured["out"], measured["report"]
    for s in report["samples"]:
        generation = _generation(simulator, s["generation_id"])
        assert Decimal(s["cost_usd"]) == Decimal(repr(generation["total_cost"]))
        _ttft, _tps, prompt_per_m, completion_per_m, _ = PACED[s["model"]]
        priced = (s["prompt_tokens"] * Decimal(prompt_per_m) + s["completion_tokens"] * Decimal(completion_per_m)) / 1_000_000
        assert Decimal(s["cost_usd"]) == priced.quantize(Decimal("1e-9"))
    # Everything the run spent (warm-up, measured calls, the jury) is what the simulator billed, to the digit.
    assert Decimal(out["cost_usd_exact"]) == measured["spent"]
    assert out["cost_usd"] == float(measured["spent"])
    # One upstream request per call the run reports, no more.
    # Warm-up, measured calls, and the jury: two judges per haiku answer, one for bench/steady's (not itself).
    assert len(measured["chats"]) == out["calls"] == 3 * 1 + 27 + 3 * (2 + 1 + 2)
    per_model = {m["model"]: Decimal(m["cost_usd_exact"]) for m in out["models"]}
    assert sum(per_model.values()) + Decimal(report["benchmark"]["judge_cost_usd"]) == measured["spent"]


def test_quality_is_scored_the_way_each_prompt_says(measured: dict[str, Any]) -> None:
    samples = measured["report"]["samples"]
    checks = {s["prompt_id"]: set(s["checks"]) for s in samples}
    assert checks == {"mul": {"numeric"}, "city": {"schema"}, "haiku": {"judge"}}
    # The simulator answers a json_schema request with JSON that fits it, and its jurors' verdicts parse.
    assert all(s["checks"]["schema"] == 1.0 for s in samples if s["prompt_id"] == "city")
    assert [len(s["judge_scores"]) for s in samples if s["prompt_id"] == "haiku" and s["run"] == 1] == [2, 1, 2]
    assert measured["out"]["judge_errors"] == 0
    for summary in measured["out"]["models"]:
        assert summary["quality"]["n"] == 9
    # A model never grades its own answers.
    judge_calls = [c for c in measured["chats"] if (c["body"].get("response_format") or {}).get("json_schema", {}).get("name") == "verdict"]
    assert len(judge_calls) == 15
    assert all(f"from {c['body']['model']} to" not in json.dumps(c["body"]["messages"]) for c in judge_calls)
    assert measured["out"]["pareto_front"] == ["bench/thrifty"]
    # The schema goes with the request as a response format; strict only where providers accept it.
    formats = [c["body"].get("response_format") for c in measured["chats"] if "Lyon" in json.dumps(c["body"]["messages"])]
    assert len(formats) == 9 and all(f["json_schema"]["strict"] is False for f in formats)
    assert all(c["body"]["response_format"]["json_schema"]["strict"] is True for c in judge_calls)


async def test_the_default_jury_is_the_configured_one_outside_each_candidates_family(bench_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    prompts = [{"prompt": "Explain caching in one sentence.", "judge_criteria": "accurate; one sentence"}]
    run = await bench_client.call_tool("benchmark_models", {"models": ["openai/gpt-4o-mini", "bench/swift"], "prompts": prompts, "runs": 1, "warmup": 0})
    assert run.structured_content is not None, run.content[0].text
    judged = [c for c in sim_log.chats(mark) if (c["body"].get("response_format") or {}).get("json_schema", {}).get("name") == "verdict"]
    jury = {}
    for c in judged:
        candidate = "openai/gpt-4o-mini" if "from openai/gpt-4o-mini to" in json.dumps(c["body"]["messages"]) else "bench/swift"
        jury.setdefault(candidate, []).append(c["body"]["model"])
    assert sorted(jury["openai/gpt-4o-mini"]) == ["deepseek/deepseek-v3.2", "google/gemini-2.5-flash", "mistralai/mistral-small-3.2-24b-instruct"]
    assert sorted(jury["bench/swift"]) == ["deepseek/deepseek-v3.2", "google/gemini-2.5-flash", "openai/gpt-4o-mini"]
    assert run.structured_content["calls"] == 2 + 6 and run.structured_content["judge_errors"] == 0


async def test_failed_calls_are_counted_by_code_and_rank_last(bench_client: Client) -> None:
    run = await bench_client.call_tool("benchmark_models", {"models": ["bench/swift", "sim/no-credits"], "prompts": ["Say hi."], "runs": 2, "warmup": 0})
    assert run.structured_content is not None, run.content[0].text
    broken = run.structured_content["models"][-1]
    assert broken["model"] == "sim/no-credits" and broken["rank"] == 2
    assert broken["ok"] == 0 and broken["success_rate"] == 0 and broken["errors"] == {"NO_CREDITS": 2}
    assert broken["latency_ms"] == {"median": None, "p90": None, "mean": None, "n": 0} and broken["scores"]["overall"] == 0
    for fmt in ("html", "markdown", "csv"):
        exported = await bench_client.call_tool("export_benchmark_report", {"benchmark_id": run.structured_content["benchmark_id"], "format": fmt})
        assert not exported.is_error, exported.content[0].text
    assert "NO_CREDITS x2" in Path(exported.structured_content["path"]).with_suffix(".md").read_text()  # type: ignore[index]


async def test_ranking_follows_the_weights(bench_client: Client) -> None:
    base = {"models": MODELS, "prompts": ["Say hello to the team."], "runs": 2, "warmup": 0}
    fast = await bench_client.call_tool("benchmark_models", {**base, "weights": {"speed": 1, "cost": 0, "quality": 0}})
    cheap = await bench_client.call_tool("benchmark_models", {**base, "weights": {"speed": 0, "cost": 1}})
    assert fast.structured_content is not None and cheap.structured_content is not None
    assert fast.structured_content["ranking"] == ["bench/swift", "bench/steady", "bench/thrifty"]
    assert cheap.structured_content["ranking"] == ["bench/thrifty", "bench/steady", "bench/swift"]
    for out, metric in ((fast.structured_content, "speed"), (cheap.structured_content, "cost")):
        assert [m["rank"] for m in out["models"]] == [1, 2, 3]
        assert all(m["scores"]["overall"] == m["scores"][metric] for m in out["models"])
        assert out["models"][0]["scores"][metric] == 1.0
        assert out["models"][0]["quality"] is None  # nothing said how to score these prompts
    bad = await bench_client.call_tool("benchmark_models", {**base, "weights": {"speed": 0, "cost": 0}})
    assert error_of(bad)["code"] == "INVALID_INPUT"


async def test_history_survives_a_server_restart(simulator: RunningSimulator, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    async with server_on(simulator, tmp_path) as first:
        run = await first.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": ["Name a colour."], "runs": 1, "warmup": 0})
        assert run.structured_content is not None
        benchmark_id = run.structured_content["benchmark_id"]
    async with server_on(simulator, tmp_path) as second:
        listed = await second.call_tool("get_benchmark_history", {})
        assert listed.structured_content is not None
        assert [r["benchmark_id"] for r in listed.structured_content["runs"]] == [benchmark_id]
        item = listed.structured_content["runs"][0]
        assert item["models"] == MODELS[:2] and item["prompts"] == "list" and item["runs"] == 1
        today = datetime.now(UTC).date().isoformat()
        for filters, count in (
            ({"model": "bench/swift"}, 1),
            ({"model": "bench/thrifty"}, 0),
            ({"suite": "list"}, 1),
            ({"suite": "reasoning"}, 0),
            ({"since": today}, 1),
            ({"since": "2999-01-01"}, 0),
        ):
            found = await second.call_tool("get_benchmark_history", filters)
            assert found.structured_content is not None and found.structured_content["total"] == count, filters
        bad = await second.call_tool("get_benchmark_history", {"since": "yesterday"})
        assert error_of(bad)["code"] == "INVALID_INPUT"
        exported = await second.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "format": "markdown"})
        assert exported.structured_content is not None
        text = Path(exported.structured_content["path"]).read_text()
        assert benchmark_id in text and "bench/steady" in text


async def test_export_outside_the_output_folder_is_refused_with_unsafe_path(bench_client: Client, measured: dict[str, Any], bench_home: Path) -> None:
    benchmark_id = measured["out"]["benchmark_id"]
    (bench_home / "out" / "link").symlink_to(bench_home, target_is_directory=True)
    for save_path in ("../escaped.html", str(bench_home / "escaped.html"), "link/escaped.html", "/tmp/escaped-report.html"):
        result = await bench_client.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "format": "html", "save_path": save_path})
        assert error_of(result)["code"] == "UNSAFE_PATH", save_path
    assert not (bench_home / "escaped.html").exists() and not Path("/tmp/escaped-report.html").exists()
    # Inside the folder it writes (the extension follows the format), and links the file as a resource.
    for fmt, save_path, name in (("html", "reports/run.html", "run.html"), ("csv", "reports/run.txt", "run.csv"), ("markdown", "reports/run", "run.md")):
        ok = await bench_client.call_tool("export_benchmark_report", {"benchmark_id": benchmark_id, "format": fmt, "save_path": save_path})
        assert ok.structured_content is not None, ok.content[0].text
        path = bench_home / "out" / "reports" / name
        assert ok.structured_content["path"] == str(path) and path.stat().st_size == ok.structured_content["bytes"]
        link = ok.content[-1]
        assert link.type == "resource_link" and link.uri == ok.structured_content["uri"] == f"bench://output/reports/{name}"
        read = await bench_client.read_resource(link.uri)
        assert read.contents[0].text == path.read_text()  # type: ignore[union-attr]
    with pytest.raises(Exception, match="outside"):
        await bench_client.read_resource("bench://output/link/escaped.html")
    rows = (bench_home / "out" / "reports" / "run.csv").read_text().splitlines()
    assert len(rows) == 1 + 27 and rows[0].startswith("benchmark_id,model,prompt_id,run,ok")
    unknown = await bench_client.call_tool("export_benchmark_report", {"benchmark_id": "bench-20000101T000000-abcdef"})
    assert error_of(unknown)["code"] == "INVALID_INPUT"


async def test_prompt_files_are_read_from_the_input_folder_only(bench_client: Client, bench_home: Path, sim_log: SimLog) -> None:
    (bench_home / "secret.jsonl").write_text('{"prompt": "hi"}\n')
    mark = sim_log.mark()
    outside = await bench_client.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": "../secret.jsonl"})
    assert error_of(outside)["code"] == "UNSAFE_PATH"
    (bench_home / "in" / "mine.jsonl").write_text(
        '{"prompt": "What is 2+2? Answer with the number only.", "expected": 4}\n{"prompt": "Spell cat backwards."}\n'
    )
    typo = await bench_client.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": "reasonin"})
    assert error_of(typo)["code"] == "INVALID_INPUT"
    bad = bench_home / "in" / "bad.jsonl"
    bad.write_text('{"prompt": "x", "expect": 4}\n')
    wrong_key = await bench_client.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": "bad.jsonl"})
    assert "expect" in error_of(wrong_key)["message"]
    (bench_home / "in" / "huge.jsonl").write_text('{"prompt": "hi"}\n' * 70_000)
    huge = await bench_client.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": "huge.jsonl"})
    assert error_of(huge)["code"] == "TOO_LARGE"
    assert sim_log.chats(mark) == []
    run = await bench_client.call_tool("benchmark_models", {"models": MODELS[:2], "prompts": "mine.jsonl", "runs": 1, "warmup": 0})
    assert run.structured_content is not None, run.content[0].text
    assert run.structured_content["prompts"] == "file:mine.jsonl" and run.structured_content["prompt_count"] == 2


async def test_budget_refusal_happens_before_any_call(bench_client: Client, sim_log: SimLog) -> None:
    mark = sim_log.mark()
    refused = await bench_client.call_tool("benchmark_models", {"models": MODELS, "prompts": "coding", "runs": 3, "max_cost_usd": 0.001, "wait_seconds": 0})
    error = error_of(refused)
    assert error["code"] == "BUDGET_EXCEEDED"
    assert error["details"]["estimate_usd"] > 0.001 and error["details"]["cap_usd"] == 0.001
    unknown = await bench_client.call_tool("benchmark_models", {"models": ["bench/swift", "nobody/nothing"], "prompts": ["hi"]})
    assert error_of(unknown)["code"] == "MODEL_NOT_FOUND"
    assert sim_log.chats(mark) == []


async def test_a_long_run_becomes_a_job_that_get_job_finishes(bench_client: Client) -> None:
    started = await bench_client.call_tool(
        "benchmark_models", {"models": MODELS[:2], "prompts": ["Count to three."], "runs": 2, "warmup": 0, "wait_seconds": 0.05}
    )
    job_id = error_of(started)["details"]["job_id"]
    for _ in range(100):
        job = await bench_client.call_tool("get_job", {"job_id": job_id})
        assert job.structured_content is not None
        if job.structured_content["status"] != "running":
            break
        await asyncio.sleep(0.1)
    assert job.structured_content["status"] == "succeeded", job.structured_content
    result = job.structured_content["result"]
    assert result["calls"] == 4 and sorted(result["ranking"]) == sorted(MODELS[:2])
    history = await bench_client.call_tool("get_benchmark_history", {"limit": 100})
    assert history.structured_content is not None
    assert result["benchmark_id"] in [r["benchmark_id"] for r in history.structured_content["runs"]]


CHROMIUM = "/usr/bin/chromium"


def _screenshot(html_file: Path, png: Path, profile: Path) -> None:
    if not Path(CHROMIUM).exists():
        reason = "Chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must render the report")
        pytest.skip(reason)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--window-size=1100,1500", "--force-device-scale-factor=1",
        f"--screenshot={png}", html_file.as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=90, capture_output=True)


def _box(image: Any, color: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels of exactly this colour (a chart's plot area)."""
    from PIL import Image, ImageChops

    mask = ImageChops.difference(image, Image.new("RGB", image.size, color)).convert("L").point(lambda v: 255 if v == 0 else 0)
    return mask.getbbox()  # type: ignore[no-any-return]


def _near(image: Any, box: tuple[int, int, int, int], color: tuple[int, int, int], tolerance: int = 40) -> int:
    data = image.crop(box).tobytes()
    r, g, b = color
    return sum(1 for i in range(0, len(data), 3) if abs(data[i] - r) + abs(data[i + 1] - g) + abs(data[i + 2] - b) <= tolerance)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


async def test_the_html_report_renders_its_charts_in_chromium(bench_client: Client, measured: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    from openrouter_mcp.render.charts import LATENCY_BG, PALETTE, SCATTER_BG

    exported = await bench_client.call_tool(
        "export_benchmark_report", {"benchmark_id": measured["out"]["benchmark_id"], "format": "html", "save_path": "charts.html"}
    )
    assert exported.structured_content is not None
    page = Path(exported.structured_content["path"])
    assert "<script" not in page.read_text() and "http" not in page.read_text().split("<body>", 1)[1]
    png = tmp_path / "report.png"
    _screenshot(page, png, tmp_path / "profile")
    image = Image.open(png).convert("RGB")
    latency = _box(image, _rgb(LATENCY_BG))
    scatter = _box(image, _rgb(SCATTER_BG))
    assert latency is not None and scatter is not None, "a chart's plot area is not on the screenshot"
    assert latency[2] - latency[0] >= 400 and latency[3] - latency[1] >= 3 * 30
    assert scatter[2] - scatter[0] >= 400 and scatter[3] - scatter[1] >= 200
    assert latency[3] <= scatter[1]  # latency first, then the scatter, both inside the window
    # Every model draws its marks (box, median, dots; a point) in its own colour in both charts.
    for i, _model in enumerate(measured["out"]["models"]):
        color = _rgb(PALETTE[i])
        assert _near(image, latency, color) >= 40, (_model, "latency")
        assert _near(image, scatter, color) >= 40, (_model, "scatter")


async def test_quality_tracks_each_models_accuracy_and_drives_the_ranking(bench_client: Client) -> None:
    """The simulator's quiz models answer its arithmetic questions right at a set rate (90 %, 50 %) and
    the better one costs more: quality must find that, and the weights must decide between them."""
    from openrouter_mcp.simulator.quiz import QUESTIONS

    questions = [{"id": q.id, "prompt": f"{q.prompt} Answer with the number only.", "expected": int(q.answer)} for q in QUESTIONS if q.kind == "number"][:40]
    base = {"models": ["quiz/acc-90-a", "quiz/acc-50-a"], "prompts": questions, "runs": 1, "warmup": 0, "concurrency": 8}
    by_quality = await bench_client.call_tool("benchmark_models", {**base, "weights": {"quality": 1}})
    by_cost = await bench_client.call_tool("benchmark_models", {**base, "weights": {"cost": 1}})
    assert by_quality.structured_content is not None and by_cost.structured_content is not None
    quality = {m["model"]: m["quality"] for m in by_quality.structured_content["models"]}
    assert quality["quiz/acc-90-a"]["n"] == quality["quiz/acc-50-a"]["n"] == 40
    assert abs(quality["quiz/acc-90-a"]["mean"] - 0.9) <= 0.1 and abs(quality["quiz/acc-50-a"]["mean"] - 0.5) <= 0.15
    assert by_quality.structured_content["ranking"] == ["quiz/acc-90-a", "quiz/acc-50-a"]
    assert by_cost.structured_content["ranking"] == ["quiz/acc-50-a", "quiz/acc-90-a"]
    # Cheaper but worse, dearer but better: neither beats the other on both, so both are on the front.
    assert by_quality.structured_content["pareto_front"] == ["quiz/acc-50-a", "quiz/acc-90-a"]


async def test_a_run_that_would_pass_the_daily_budget_is_refused_before_any_call(simulator: RunningSimulator, sim_log: SimLog, tmp_path: Path) -> None:
    from openrouter_mcp.app import App
    from openrouter_mcp.config import SIMULATOR_KEY, Secret, load_settings
    from openrouter_mcp.errors import ToolFailure
    from openrouter_mcp.services.bench import runner as bench

    settings = load_settings({"OPENROUTER_MCP_HOME": str(tmp_path), "OPENROUTER_MCP_DAILY_BUDGET_USD": "0.002"}, simulate=True)
    settings = settings.with_overrides(base_url=simulator.api_url, api_key=Secret(SIMULATOR_KEY))
    app = App(settings)
    mark = sim_log.mark()
    try:
        cfg = bench.build_config({"models": MODELS, "prompts": "reasoning", "runs": 3, "max_cost_usd": 5}, settings)
        with pytest.raises(ToolFailure) as refused:
            await bench.prepare(app, cfg)
    finally:
        await app.aclose()
    assert refused.value.code.value == "BUDGET_EXCEEDED" and refused.value.details is not None
    assert refused.value.details["window"] == "daily" and refused.value.details["estimate_usd"] > 0.002
    assert sim_log.chats(mark) == []
