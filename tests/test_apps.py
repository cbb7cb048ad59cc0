"""The MCP Apps views (extension io.modelcontextprotocol/ui): get_usage_stats, get_account,
benchmark_models and export_benchmark_report name the view shell (`_meta.ui.resourceUri`), a client that
advertises the extension gets the view the server drew in the result's `_meta`, and a client that does not
gets exactly the result it got before. The view shell runs in a real headless Chromium inside a small host
page that speaks the Apps protocol (ext-apps specification/2026-01-26/apps.mdx: `ui/initialize`, then
`ui/notifications/initialized`, `ui/notifications/tool-input` and `ui/notifications/tool-result` over
postMessage) and draws the chart; the page loads nothing from anywhere."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.client.stdio import StdioServerParameters
from PIL import Image, ImageChops

from openrouter_mcp.render.apps import VIEW_META_KEY, VIEW_URI
from openrouter_mcp.render.charts import LATENCY_BG, METER_USED, SPEND_BG
from openrouter_mcp.simulator.server import RunningSimulator

from .conftest import HttpServer, server_env
from .test_dashboard_chromium import Browser, artifacts_dir

pytestmark = pytest.mark.timeout(600)

UI = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"
VIEW_TOOLS = ("get_usage_stats", "get_account", "benchmark_models", "export_benchmark_report")
CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 40, "messages": [{"role": "user", "content": "Say hi."}]}
# Ranked by cost only, so two runs rank alike whatever their timings.
BENCH = {"models": ["bench/swift", "bench/steady"], "prompts": ["Count to three."], "runs": 1, "warmup": 0, "weights": {"cost": 1}}


class AppsHost(ClientExtension):
    """What a host that renders MCP Apps advertises."""

    identifier = UI

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME]}


@asynccontextmanager
async def clients(simulator: RunningSimulator, home: Path, transport: str) -> AsyncIterator[tuple[Client, Client]]:
    """(a client with Apps, one without) of one server, over stdio or Streamable HTTP."""
    env = server_env(simulator, home, OPENROUTER_MCP_DAILY_BUDGET_USD="0.01")
    if transport == "stdio":
        params = StdioServerParameters(command=sys.executable, args=["-m", "openrouter_mcp", "serve"], env=env)
        async with Client(params, extensions=[AppsHost()], read_timeout_seconds=120) as apps, Client(params, read_timeout_seconds=120) as plain:
            yield apps, plain
        return
    server = HttpServer(env, home / "http.log")
    try:
        async with Client(server.url, extensions=[AppsHost()], read_timeout_seconds=120) as apps, Client(server.url, read_timeout_seconds=120) as plain:
            yield apps, plain
    finally:
        server.stop()


def without_view(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    meta = {k: v for k, v in (data.get("_meta") or {}).items() if k != VIEW_META_KEY}
    data.pop("_meta", None)
    if meta:
        data["_meta"] = meta
    return data


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A benchmark result with what differs from run to run masked: the run id, and the timings (in the
    structured output, and every number of the text, whose table holds them)."""
    import re

    timed = ("duration_s", "latency_ms", "ttft_ms", "tokens_per_s", "scores")
    out = json.loads(re.sub(r"bench-\d{8}T\d{6}-[0-9a-f]{6}", "<run>", json.dumps(data)))
    out["content"] = [{**c, "text": re.sub(r"\d+(\.\d+)?", "<n>", c["text"])} for c in out["content"]]
    structured = out["structuredContent"]
    structured.update({k: "<n>" for k in timed if k in structured})
    structured["models"] = [{k: "<n>" if k in timed else v for k, v in m.items()} for m in structured["models"]]
    return out


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_client_without_apps_gets_the_same_results_as_before(simulator: RunningSimulator, tmp_path: Path, transport: str) -> None:
    async with clients(simulator, tmp_path, transport) as (apps, plain):
        listed = {t.name: t for t in (await plain.list_tools()).tools}
        for name in VIEW_TOOLS:
            assert (listed[name].meta or {}).get("ui") == {"resourceUri": VIEW_URI}, name
        extra = sum(len(json.dumps({"_meta": listed[n].meta}, separators=(",", ":"))) - 2 for n in VIEW_TOOLS)
        print(f"\nMCP Apps metadata in tools/list: {extra} bytes over {len(VIEW_TOOLS)} tools")
        assert extra <= 4 * 48
        (shell,) = [r for r in (await plain.list_resources()).resources if str(r.uri) == VIEW_URI]
        assert shell.mime_type == APP_MIME

        assert not (await apps.call_tool("chat_completion", CHAT)).is_error
        for name, args in (("get_usage_stats", {}), ("get_account", {})):
            with_apps, without = await apps.call_tool(name, args), await plain.call_tool(name, args)
            assert not without.is_error and VIEW_META_KEY not in (without.meta or {}), name
            assert isinstance(with_apps.meta[VIEW_META_KEY], str) and "<svg" in with_apps.meta[VIEW_META_KEY], name
            assert without_view(with_apps) == without_view(without), name
            assert [c.type for c in without.content] == ["text"]
        runs = [await client.call_tool("benchmark_models", BENCH) for client in (apps, plain)]
        assert 'id="latency-chart"' in runs[0].meta[VIEW_META_KEY] and VIEW_META_KEY not in (runs[1].meta or {})
        assert comparable(without_view(runs[0])) == comparable(without_view(runs[1]))
        run_id = runs[1].structured_content["benchmark_id"]
        exported = await plain.call_tool("export_benchmark_report", {"benchmark_id": run_id, "format": "markdown"})
        assert [c.type for c in exported.content] == ["text", "resource_link"] and VIEW_META_KEY not in (exported.meta or {})
        # An error is the same error either way, with no view.
        refused = [await client.call_tool("get_usage_stats", {"start_date": "yesterday"}) for client in (apps, plain)]
        assert refused[0].is_error and without_view(refused[0]) == without_view(refused[1]) and VIEW_META_KEY not in (refused[0].meta or {})


HOST = """<!doctype html><html><head><meta charset="utf-8"><title>host</title></head>
<body style="margin:0;background:#fff"><iframe id="view" sandbox="allow-scripts" style="border:0;width:1100px;height:400px"></iframe>
<script type="application/json" id="data">__DATA__</script>
<script>
const data = JSON.parse(document.getElementById('data').textContent);
const frame = document.getElementById('view');
window.seen = [];
const send = m => frame.contentWindow.postMessage(Object.assign({jsonrpc: '2.0'}, m), '*');
addEventListener('message', e => {
  if (e.source !== frame.contentWindow) return;
  const m = e.data; window.seen.push(m.method || 'response');
  if (m.method === 'ui/initialize') send({id: m.id, result: {protocolVersion: m.params.protocolVersion, hostInfo: {name: 'test-host', version: '1'},
    hostCapabilities: {}, hostContext: {theme: 'light', displayMode: 'inline'}}});
  if (m.method === 'ui/notifications/initialized') { send({method: 'ui/notifications/tool-input', params: {arguments: data.arguments}});
    send({method: 'ui/notifications/tool-result', params: data.result}); }
  if (m.method === 'ui/notifications/size-changed') { frame.style.height = m.params.height + 'px'; window.sized = m.params; }
});
frame.srcdoc = data.html;
</script></body></html>"""


def host_page(folder: Path, name: str, html: str, arguments: dict[str, Any], result: Any) -> Path:
    data = {"html": html, "arguments": arguments, "result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}
    page = folder / f"host-{name}.html"
    page.write_text(HOST.replace("__DATA__", json.dumps(data).replace("</", "<\\/")))
    return page


def pixels(png: Path, color: str) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many pixels are exactly this colour, and their bounding box."""
    image = Image.open(png).convert("RGB")
    rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    mask = ImageChops.difference(image, Image.new("RGB", image.size, rgb)).convert("L").point(lambda v: 255 if v == 0 else 0)
    return int(mask.histogram()[255]), mask.getbbox()


async def test_the_views_draw_their_charts_in_a_host_page(simulator: RunningSimulator, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    shots = artifacts_dir(tmp_path_factory, "apps")
    async with clients(simulator, tmp_path, "stdio") as (apps, _):
        shell = (await apps.read_resource(VIEW_URI)).contents[0]
        assert shell.mime_type == APP_MIME
        html = shell.text
        for _ in range(3):
            assert not (await apps.call_tool("chat_completion", CHAT)).is_error
        bench = await apps.call_tool("benchmark_models", BENCH)
        results = {
            "usage": ({}, await apps.call_tool("get_usage_stats", {})),
            "account": ({}, await apps.call_tool("get_account", {})),
            "bench": (BENCH, bench),
            "export": (
                {"benchmark_id": bench.structured_content["benchmark_id"]},
                await apps.call_tool("export_benchmark_report", {"benchmark_id": bench.structured_content["benchmark_id"]}),
            ),
        }
    browser = Browser(tmp_path / "profile", width=1150, height=1300)
    try:
        for name, (arguments, result) in results.items():
            assert not result.is_error, (name, result.content)
            page = host_page(tmp_path, name, html, arguments, result)
            mark = len(browser.requests)
            browser.open(page.as_uri())
            for _ in range(100):
                if browser.js("window.sized ? true : false"):
                    break
                browser.js("new Promise(r => setTimeout(r, 50))")
            assert browser.js("window.seen.slice(0, 2)") == ["ui/initialize", "ui/notifications/initialized"], name
            assert "ui/notifications/size-changed" in browser.js("window.seen"), name
            png = browser.screenshot(shots / f"view-{name}.png")
            if name == "usage":
                count, box = pixels(png, SPEND_BG)
                assert box is not None and box[2] - box[0] >= 500 and box[3] - box[1] >= 150, (name, box)
            elif name == "account":
                count, box = pixels(png, METER_USED)
                assert count >= 10, (name, count)  # the budget meter: the calls so far against the $0.01 daily budget
            else:
                count, box = pixels(png, LATENCY_BG)
                assert box is not None and box[2] - box[0] >= 400, (name, box)
            # Only the host page itself was loaded: the view fetched nothing.
            loaded = browser.requests[mark:]
            assert loaded == [page.as_uri()] or all(u == page.as_uri() or u.startswith(("about:", "data:")) for u in loaded), loaded
            errors = [e for e in browser.console_errors() if "Content Security Policy" in e or "Refused" in e]
            assert not errors, errors
    finally:
        browser.close()
