"""Media upload memory: peak RSS growth of the server process while analyze_video sends a 200 MB file to
the simulator, streamed (the default) against the same upload built in memory (the baseline, forced with
OPENROUTER_MCP_INLINE_UPLOAD_MAX_BYTES), in one run.

The server runs as its own process (Streamable HTTP, so its pid is known); its RSS is sampled from
/proc every 2 ms and, where the kernel supports it, also read from the peak counter (VmHWM) after
resetting it. The simulator runs in this process and checks that the upload arrived intact (SHA-256).

Run:  python benchmarks/media_memory.py [--mb 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from mcp import Client

from openrouter_mcp.simulator.server import start_in_thread

KEY = "sk-or-sim-local-0000"
LIMIT_MB = 64


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5); False where that is not supported."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return status_kb(pid, "VmHWM") <= status_kb(pid, "VmRSS") + 256
    except OSError:
        return False


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            time.sleep(0.002)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_video(path: Path, size: int) -> str:
    """An MP4-shaped file (`ftyp` box, then bytes) of `size` bytes; returns its SHA-256."""
    digest = hashlib.sha256()
    block = hashlib.shake_256(b"benchmark").digest(1 << 20)
    with open(path, "wb") as f:
        head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        f.write(head)
        digest.update(head)
        left = size - len(head)
        while left > 0:
            piece = block[: min(len(block), left)]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


async def run_case(label: str, sim_url: str, dirs: Path, video: Path, sha: str, extra_env: dict[str, str]) -> dict[str, float | str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(
        OPENROUTER_BASE_URL=sim_url + "/api/v1",
        OPENROUTER_API_KEY=KEY,
        OPENROUTER_MCP_HOME=str(dirs / label / "home"),
        OPENROUTER_INPUT_DIR=str(video.parent),
        OPENROUTER_OUTPUT_DIR=str(dirs / label / "out"),
        OPENROUTER_MCP_MAX_VIDEO_BYTES=str(video.stat().st_size + 1),
        **extra_env,
    )
    log = open(dirs / f"{label}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "openrouter_mcp", "serve", "--http", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"server did not start: {(dirs / f'{label}.log').read_text()}") from None
                time.sleep(0.05)
        async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=600) as client:
            # Warm up: every module a media call loads, with a file over the inline threshold too.
            warm = await client.call_tool("analyze_video", {"video_path": "warmup.mp4", "question": "warm up"})
            assert not warm.is_error, warm.content[0].text
            await asyncio.sleep(0.5)
            idle_kb = status_kb(proc.pid, "VmRSS")
            hwm = reset_peak(proc.pid)
            with Sampler(proc.pid) as sampler:
                started = time.perf_counter()
                result = await client.call_tool("analyze_video", {"video_path": video.name, "question": "What happens in this video?"})
                elapsed = time.perf_counter() - started
            assert not result.is_error, result.content[0].text
            peak_kb = max(sampler.peak_kb, status_kb(proc.pid, "VmHWM") if hwm else 0)
        with urllib.request.urlopen(sim_url + "/_sim/requests") as resp:
            last = [e for e in json.load(resp)["data"] if e["path"].endswith("/chat/completions")][-1]
        intact = bool(last.get("media")) and last["media"][0]["sha256"] == sha
        return {
            "label": label,
            "sent_as": result.structured_content["source"]["sent_as"],
            "idle_mb": idle_kb / 1024,
            "peak_mb": peak_kb / 1024,
            "growth_mb": (peak_kb - idle_kb) / 1024,
            "seconds": elapsed,
            "intact": "yes" if intact else "NO",
            "peak_source": "VmHWM + 2 ms samples" if hwm else "2 ms samples",
        }
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the uploaded file in MB (default 200)")
    args = parser.parse_args()
    sim = start_in_thread()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = Path(tmp)
            inputs = dirs / "in"
            inputs.mkdir()
            make_video(inputs / "warmup.mp4", 6_000_000)
            video = inputs / "big.mp4"
            sha = make_video(video, args.mb * 1_000_000)
            rows = [
                await run_case("streamed", sim.url, dirs, video, sha, {}),
                await run_case("in-memory", sim.url, dirs, video, sha, {"OPENROUTER_MCP_INLINE_UPLOAD_MAX_BYTES": str(args.mb * 1_000_000 + 1)}),
            ]
    finally:
        sim.stop()
    base = rows[1]["growth_mb"]
    print(f"analyze_video uploading a {args.mb} MB file to the simulator; server RSS over idle; {os.cpu_count()} CPUs")
    print(f"{'upload':<10} {'sent as':<9} {'idle MB':>8} {'peak MB':>8} {'growth MB':>10} {'x base':>7} {'seconds':>8}  intact  peak from")
    for r in rows:
        ratio = float(r["growth_mb"]) / float(base) if float(base) else float("nan")
        print(
            f"{r['label']:<10} {r['sent_as']:<9} {r['idle_mb']:>8.1f} {r['peak_mb']:>8.1f} {r['growth_mb']:>10.1f} {ratio:>7.3f} {r['seconds']:>8.2f}  {r['intact']:<6}  {r['peak_source']}"
        )
    ok = float(rows[0]["growth_mb"]) < LIMIT_MB and rows[0]["intact"] == "yes"
    print(f"streamed growth {'<' if ok else '>='} {LIMIT_MB} MB: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
