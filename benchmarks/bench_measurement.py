"""How right benchmark_models measures: the simulator's paced models (bench/swift, bench/steady,
bench/thrifty) have set times to first token and speeds; this runs the benchmark service on them at
several concurrency levels and prints, per model, the measured medians against the settings.

The simulator runs in its own process (as OpenRouter would); the baseline is concurrency 1 in the same
run, and the wall time of each level is given as a ratio to it.

Run:  python benchmarks/bench_measurement.py [--levels 1,4,16] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from openrouter_mcp.app import App
from openrouter_mcp.config import SIMULATOR_KEY, Secret, load_settings
from openrouter_mcp.services.bench import runner as bench
from openrouter_mcp.simulator.catalog import PACED

MODELS = list(PACED)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "openrouter_mcp", "simulate", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator did not start")


async def one_level(base_url: str, home: Path, concurrency: int, runs: int) -> tuple[float, dict[str, Any]]:
    env = {"OPENROUTER_MCP_HOME": str(home)}
    settings = load_settings(env, simulate=True).with_overrides(base_url=base_url, api_key=Secret(SIMULATOR_KEY))
    app = App(settings)
    try:
        cfg = bench.build_config({"models": MODELS, "prompts": "reasoning", "runs": runs, "warmup": 1, "concurrency": concurrency}, settings)
        plan = await bench.prepare(app, cfg)
        started = time.perf_counter()
        record = await bench.run_benchmark(app, plan)
        wall = time.perf_counter() - started
        _, samples = await bench.load(app, record["id"])
    finally:
        await app.aclose()
    out: dict[str, Any] = {}
    for summary in record["models"]:
        model = summary["model"]
        ttft, tps = PACED[model][:2]
        mine = [s for s in samples if s.model == model and s.ok]
        expected_latency = statistics.median(ttft + s.completion_tokens / tps * 1000 for s in mine)
        out[model] = {
            "n": summary["ok"],
            "ttft": summary["ttft_ms"]["median"],
            "ttft_err": summary["ttft_ms"]["median"] / ttft - 1,
            "tps": summary["tokens_per_s"]["median"],
            "tps_err": summary["tokens_per_s"]["median"] / tps - 1,
            "lat_err": summary["latency_ms"]["median"] / expected_latency - 1,
        }
    return wall, out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,4,16", help="concurrency levels (default 1,4,16)")
    parser.add_argument("--runs", type=int, default=2, help="measured runs per prompt of the reasoning suite (default 2)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    port = free_port()
    sim = start_simulator(port)
    try:
        with tempfile.TemporaryDirectory() as home:
            results = [(level, *await one_level(f"http://127.0.0.1:{port}/api/v1", Path(home), level, args.runs)) for level in levels]
    finally:
        sim.terminate()
        sim.wait(10)
    base_wall = results[0][1]
    print(f"benchmark_models on the simulator's paced models, reasoning suite x {args.runs} runs; {os.cpu_count()} CPUs")
    print(
        f"{'concurrency':>11}  {'wall s':>6}  {'x base':>6}  {'model':<14} {'n':>3}  {'TTFT ms (set)':>14}  {'err':>6}  {'tok/s (set)':>12}  {'err':>6}  {'latency err':>11}"
    )
    for level, wall, per_model in results:
        for model, r in per_model.items():
            ttft, tps = PACED[model][:2]
            print(
                f"{level:>11}  {wall:>6.2f}  {wall / base_wall:>6.2f}  {model:<14} {r['n']:>3}  {r['ttft']:>7.1f} ({ttft:>4})  {r['ttft_err']:>+6.1%}  "
                f"{r['tps']:>6.1f} ({tps:>3.0f})  {r['tps_err']:>+6.1%}  {r['lat_err']:>+11.1%}"
            )


if __name__ == "__main__":
    asyncio.run(main())
