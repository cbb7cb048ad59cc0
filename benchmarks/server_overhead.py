"""Server overhead benchmark: our server against an independent reference, in one run, as ratios.

The reference (benchmarks/baseline_server.py) is the fastest plain way to do the same job: a ten-line
MCPServer whose one tool makes one non-streaming POST with httpx2. Both servers talk to the same simulator,
which runs in its own process. Each round starts a fresh process of each server on each transport, and the
two take turns measure by measure, so both see the same machine noise:

  (a) added latency at 1 in flight: a tool call through a real MCP client minus the same request sent straight
      to the simulator (one plain POST), call by call in turn, on the instant model `sim/instant`;
  (c) wall time of 200 calls at 50 in flight, 400 at 200 and 1,000 at 500, against `sim/delay-200ms`;
  (e) peak RSS of each server process after its 500-in-flight run (VmHWM);
and, once per round, (b) cold start: process spawn to tools/list answered. (d) is the size of tools/list.
Every figure is reported for stdio and for Streamable HTTP, as the median over rounds with its range.
Budgeted throughput on a grown ledger is measured by benchmarks/budgets.py.

Run:  python benchmarks/server_overhead.py [--rounds 3] [--calls 200] [--starts 5]
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
from typing import Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters

HERE = Path(__file__).resolve().parent
KEY = "sk-or-sim-local-0000"
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
LOADS = ((50, 200), (200, 400), (500, 1000))  # (in flight, calls)
# Started through this launcher, a stdio server writes its pid where the benchmark can read its peak RSS.
LAUNCH = "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid())); os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
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


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


class Target:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env

    def http_argv(self, port: int) -> list[str]:
        if self.name == "ours":
            return [sys.executable, *self.argv, "--http", "--port", str(port)]
        return [sys.executable, *self.argv, "--http", str(port)]


class Running:
    """One server process with a connected MCP client, on one transport."""

    def __init__(self, target: Target, transport: str, client: Client, pid: int) -> None:
        self.target, self.transport, self.client, self.pid = target, transport, client, pid


async def start(stack: AsyncExitStack, target: Target, transport: str, tmp: Path) -> Running:
    if transport == "stdio":
        pidfile = tmp / f"{target.name}-{time.monotonic_ns()}.pid"
        params = StdioServerParameters(command=sys.executable, args=["-c", LAUNCH, str(pidfile), *target.argv], env=target.env)
        client = await stack.enter_async_context(Client(params))
        return Running(target, transport, client, int(pidfile.read_text()))
    port = free_port()
    proc = subprocess.Popen(target.http_argv(port), env=target.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    stack.callback(stop)
    wait_port(port, proc)
    client = await stack.enter_async_context(Client(f"http://127.0.0.1:{port}/mcp"))
    return Running(target, transport, client, proc.pid)


async def call(running: Running, model: str) -> bool:
    result = await running.client.call_tool("chat_completion", {"model": model, "messages": MESSAGES})
    return not result.is_error


async def added_latency(pair: list[Running], http: httpx2.AsyncClient, calls: int) -> dict[str, float]:
    """Median over `calls` of (tool call) minus (the same request straight to the simulator), in turn."""
    added: dict[str, list[float]] = {r.target.name: [] for r in pair}
    body = {"model": "sim/instant", "messages": MESSAGES}
    for i in range(20 + calls):
        for running in pair if i % 2 else pair[::-1]:
            t0 = time.perf_counter()
            assert await call(running, "sim/instant")
            tool_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            (await http.post("/chat/completions", json=body)).raise_for_status()
            if i >= 20:  # the first 20 warm every path
                added[running.target.name].append((tool_s - (time.perf_counter() - t0)) * 1000)
    return {name: statistics.median(values) for name, values in added.items()}


async def fan_out(running: Running, calls: int, in_flight: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(in_flight)
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with gate:
            try:
                errors += not await call(running, "sim/delay-200ms")
            except Exception:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return time.perf_counter() - t0, errors


async def cold_start(target: Target) -> float:
    t0 = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=target.argv, env=target.env)) as client:
        await client.list_tools()
        return (time.perf_counter() - t0) * 1000


async def one_round(targets: list[Target], transport: str, sim_url: str, calls: int, tmp: Path, flip: bool) -> dict[str, Any]:
    out: dict[str, Any] = {t.name: {} for t in targets}
    order = targets[::-1] if flip else targets
    async with AsyncExitStack() as stack:
        pair = [await start(stack, t, transport, tmp) for t in order]
        async with httpx2.AsyncClient(base_url=sim_url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            for name, ms in (await added_latency(pair, http, calls)).items():
                out[name]["latency_ms"] = ms
        for running in pair:  # warm each pool before the timed loads
            await fan_out(running, 50, 50)
        for in_flight, n in LOADS:
            for running in pair:
                wall, errors = await fan_out(running, n, in_flight)
                out[running.target.name][f"wall_{in_flight}"] = wall
                out[running.target.name][f"errors_{in_flight}"] = errors
        for running in pair:
            out[running.target.name]["rss_mb"] = peak_rss_mb(running.pid)
    return out


async def tools_list_bytes(target: Target) -> tuple[int, int]:
    async with Client(StdioServerParameters(command=sys.executable, args=target.argv, env=target.env)) as client:
        result = await client.list_tools()
    wire = json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    return len(wire.encode()), len(result.tools)


def spread(values: list[float], fmt: str) -> str:
    """The median, with the range over rounds when there are several."""
    mid = statistics.median(values)
    if len(values) == 1:
        return format(mid, fmt)
    return f"{format(mid, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200, help="calls per server for the added latency, per round")
    parser.add_argument("--starts", type=int, default=5, help="cold starts per server, per round")
    parser.add_argument("--transports", default="stdio,http")
    args = parser.parse_args()

    # Measure the servers as installed: pip byte-compiles a package when it installs it (an editable install
    # does not, and this machine may set PYTHONDONTWRITEBYTECODE), so compile both here.
    import compileall

    import openrouter_mcp

    compileall.compile_dir(str(Path(openrouter_mcp.__file__).parent), quiet=1)
    compileall.compile_file(str(HERE / "baseline_server.py"), quiet=1)

    sim_port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "openrouter_mcp", "simulate", "--port", str(sim_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = Path(tempfile.mkdtemp(prefix="openrouter-mcp-bench-"))
    transports = args.transports.split(",")
    results: dict[str, list[dict[str, Any]]] = {t: [] for t in transports}
    cold: dict[str, list[float]] = {"ours": [], "reference": []}
    try:
        wait_port(sim_port, sim)
        sim_url = f"http://127.0.0.1:{sim_port}/api/v1"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
        env.update(OPENROUTER_BASE_URL=sim_url, OPENROUTER_API_KEY=KEY, OPENROUTER_MCP_HOME=str(home), OPENROUTER_MCP_LOG_LEVEL="warning")
        env.setdefault("PYTHONWARNINGS", "ignore")
        targets = [Target("ours", ["-m", "openrouter_mcp", "serve"], env), Target("reference", [str(HERE / "baseline_server.py")], env)]
        for r in range(args.rounds):
            for transport in transports:
                results[transport].append(await one_round(targets, transport, sim_url, args.calls, home, flip=bool(r % 2)))
                print(f"round {r + 1} {transport}: {json.dumps(results[transport][-1])}", file=sys.stderr)
            for i in range(args.starts):
                for target in targets if i % 2 else targets[::-1]:
                    cold[target.name].append(await cold_start(target))
        size, count = await tools_list_bytes(targets[0])
    finally:
        sim.terminate()
        sim.wait(10)

    rows = []
    for transport in transports:
        rounds = results[transport]

        def column(name: str, key: str, rounds: list[dict[str, Any]] = rounds) -> list[float]:
            return [float(r[name][key]) for r in rounds]

        def ratio(key: str, rounds: list[dict[str, Any]] = rounds) -> list[float]:
            return [r["ours"][key] / r["reference"][key] for r in rounds]

        rows.append((f"{transport}: (a) added latency, 1 in flight (ms)", spread(column("ours", "latency_ms"), ".2f"), spread(column("reference", "latency_ms"), ".2f"), spread(ratio("latency_ms"), ".2f") + "x", "<= 1.2x"))
        for in_flight, n in LOADS:
            errors = f"{sum(column('ours', f'errors_{in_flight}')):.0f}/{sum(column('reference', f'errors_{in_flight}')):.0f}"
            target = "<= 1.3x" if in_flight in (200, 500) or transport == "http" else ""
            rows.append(
                (
                    f"{transport}: (c) {n} calls, {in_flight} in flight, wall (s); errors ours/ref {errors}",
                    spread(column("ours", f"wall_{in_flight}"), ".2f"),
                    spread(column("reference", f"wall_{in_flight}"), ".2f"),
                    spread(ratio(f"wall_{in_flight}"), ".2f") + "x",
                    target,
                )
            )
        rows.append((f"{transport}: (e) peak RSS after the 500-in-flight run (MB)", spread(column("ours", "rss_mb"), ".0f"), spread(column("reference", "rss_mb"), ".0f"), "", "<= 100 MB"))
    c_ours, c_ref = statistics.median(cold["ours"]), statistics.median(cold["reference"])
    rows.append(("(b) cold start to tools/list, median of all starts (ms)", f"{c_ours:.0f}", f"{c_ref:.0f}", f"{c_ours - c_ref:+.0f} ms", "<= +150 ms"))
    rows.append(("(d) tools/list bytes (per tool)", f"{size} ({size / count:.0f} x {count})", "", "", "<= 1200 per tool"))
    print(f"{args.rounds} rounds; each cell: median (range over rounds)")
    print("| measure | ours | reference | ratio | target |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "server_overhead.json").write_text(json.dumps({"rounds": results, "cold_ms": cold, "tools_list_bytes": size, "tools": count}, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
