"""Server overhead benchmark: our server against the ten-line baseline (baseline_server.py), in one run.

  (a) added latency per chat_completion call over stdio: (tool call through a real MCP client) minus
      (the same request sent straight to the simulator), interleaved, median and p95;
  (b) cold start: process spawn to tools/list answered, median of N;
  (c) 200 calls with 50 in flight against a simulator answering in 200 ms, over stdio and Streamable HTTP;
  (d) the byte size of tools/list as sent on the wire.

Run:  python benchmarks/server_overhead.py [--calls 200] [--starts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

HERE = Path(__file__).resolve().parent
KEY = "sk-or-sim-local-0000"
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Target:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env

    def stdio(self) -> StdioServerParameters:
        return StdioServerParameters(command=sys.executable, args=self.argv, env=self.env)

    def http_argv(self, port: int) -> list[str]:
        if self.name == "ours":
            return [sys.executable, *self.argv, "--http", "--port", str(port)]
        return [sys.executable, *self.argv, "--http", str(port)]


async def added_latency(targets: list[Target], sim_url: str, calls: int, model: str) -> dict[str, list[float]]:
    """Per call: MCP tool call time minus the time of the same request sent straight to the simulator.
    The servers take turns call by call, so both see the same machine noise."""
    added: dict[str, list[float]] = {t.name: [] for t in targets}
    async with httpx.AsyncClient(base_url=sim_url, headers={"Authorization": f"Bearer {KEY}"}) as http, AsyncExitStack() as stack:
        clients = [(t, await stack.enter_async_context(Client(t.stdio()))) for t in targets]

        async def one(target: Target, client: Client) -> float:
            # Our server streams; the baseline makes a plain POST: each is compared with its own request.
            body = {"model": model, "messages": MESSAGES, **({"stream": True} if target.name == "ours" else {})}
            t0 = time.perf_counter()
            result = await client.call_tool("chat_completion", {"model": model, "messages": MESSAGES})
            tool_s = time.perf_counter() - t0
            assert not result.is_error, result.content
            t0 = time.perf_counter()
            resp = await http.post("/chat/completions", json=body)
            resp.read()
            return (tool_s - (time.perf_counter() - t0)) * 1000

        for _ in range(20):  # warm every path
            for target, client in clients:
                await one(target, client)
        for _ in range(calls):
            for target, client in clients:
                added[target.name].append(await one(target, client))
    return added


async def cold_start(target: Target, starts: int) -> list[float]:
    times = []
    for _ in range(starts):
        t0 = time.perf_counter()
        async with Client(target.stdio()) as client:
            await client.list_tools()
            times.append((time.perf_counter() - t0) * 1000)
    return times


async def fan_out(client: Client, calls: int, in_flight: int, model: str) -> tuple[float, int]:
    gate = asyncio.Semaphore(in_flight)
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with gate:
            try:
                result = await client.call_tool("chat_completion", {"model": model, "messages": MESSAGES})
                errors += bool(result.is_error)
            except Exception:
                errors += 1

    await client.call_tool("chat_completion", {"model": model, "messages": MESSAGES})
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return time.perf_counter() - t0, errors


async def concurrency(target: Target, calls: int, model: str) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    async with Client(target.stdio()) as client:
        out["stdio"] = await fan_out(client, calls, 50, model)
    port = free_port()
    proc = subprocess.Popen(target.http_argv(port), env=target.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            out["http"] = await fan_out(client, calls, 50, model)
    finally:
        proc.terminate()
        proc.wait(10)
    return out


async def tools_list_bytes(target: Target) -> tuple[int, int]:
    async with Client(target.stdio()) as client:
        result = await client.list_tools()
    wire = json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    return len(wire.encode()), len(result.tools)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--only", choices=("a", "b", "c", "d"), help="run one figure only (for quick iterations)")
    args = parser.parse_args()

    # Measure the servers as installed: pip byte-compiles a package when it installs it (an editable install
    # does not, and this machine sets PYTHONDONTWRITEBYTECODE), so compile both here.
    import compileall

    import openrouter_mcp

    compileall.compile_dir(str(Path(openrouter_mcp.__file__).parent), quiet=1)
    compileall.compile_file(str(HERE / "baseline_server.py"), quiet=1)

    sim_port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "openrouter_mcp", "simulate", "--port", str(sim_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = tempfile.mkdtemp(prefix="openrouter-mcp-bench-")
    try:
        wait_port(sim_port, sim)
        sim_url = f"http://127.0.0.1:{sim_port}/api/v1"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
        env.update(OPENROUTER_BASE_URL=sim_url, OPENROUTER_API_KEY=KEY, OPENROUTER_MCP_HOME=home, OPENROUTER_MCP_LOG_LEVEL="warning")
        env.setdefault("PYTHONWARNINGS", "ignore")
        ours = Target("ours", ["-m", "openrouter_mcp", "serve"], env)
        base = Target("baseline", [str(HERE / "baseline_server.py")], env)

        lat = await added_latency([ours, base], sim_url, args.calls, "sim/instant") if args.only in (None, "a") else {}
        cold = {t.name: await cold_start(t, args.starts) for t in (ours, base)} if args.only in (None, "b") else {}
        conc = {t.name: await concurrency(t, 200, "sim/delay-200ms") for t in (ours, base)} if args.only in (None, "c") else {}
        size, count = await tools_list_bytes(ours)
    finally:
        sim.terminate()
        sim.wait(10)

    if args.only:
        print({"a": lambda: {k: (statistics.median(v), pct(v, 95)) for k, v in lat.items()}, "b": lambda: {k: statistics.median(v) for k, v in cold.items()},
               "c": lambda: conc, "d": lambda: (size, count, size / count)}[args.only]())
        return
    med = {k: statistics.median(v) for k, v in lat.items()}
    p95 = {k: pct(v, 95) for k, v in lat.items()}
    cold_med = {k: statistics.median(v) for k, v in cold.items()}
    rows = [
        ("(a) added latency, median (ms)", f"{med['ours']:.2f}", f"{med['baseline']:.2f}", f"{med['ours'] / med['baseline']:.2f}x", "<= 1.2x"),
        ("(a) added latency, p95 (ms)", f"{p95['ours']:.2f}", f"{p95['baseline']:.2f}", f"{p95['ours'] / p95['baseline']:.2f}x", ""),
        ("(b) cold start to tools/list, median (ms)", f"{cold_med['ours']:.0f}", f"{cold_med['baseline']:.0f}", f"{cold_med['ours'] - cold_med['baseline']:+.0f} ms", "<= +150 ms"),
    ]
    for transport in ("stdio", "http"):
        (wall, errs), (bwall, berrs) = conc["ours"][transport], conc["baseline"][transport]
        rows.append((f"(c) 200 calls, 50 in flight, {transport}: wall (s)", f"{wall:.2f} ({errs} errors)", f"{bwall:.2f} ({berrs} errors)", f"{wall / bwall:.2f}x", "<= 1.3 s, 0 errors"))
        rows.append((f"(c) {transport}: calls/s", f"{200 / wall:.0f}", f"{200 / bwall:.0f}", "", ""))
    rows.append(("(d) tools/list bytes (per tool)", f"{size} ({size / count:.0f} x {count})", "", "", "<= 1200 per tool"))
    print("| measure | ours | baseline | ratio | target |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "server_overhead.json").write_text(json.dumps({"latency_ms": lat, "cold_ms": cold, "concurrency": conc, "tools_list_bytes": size, "tools": count}, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
