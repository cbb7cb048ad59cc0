"""`openrouter-mcp doctor`: checks the settings, the key, the base URL, the data folders and
connectivity, and says what to fix for each problem."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from ..config import SIMULATED_DIR, ConfigError, Settings, load_settings
from ..errors import ToolFailure


def _line(ok: bool, label: str, detail: str) -> None:
    mark = "ok " if ok else "FIX"
    print(f"[{mark}] {label:<14} {detail}", flush=True)


def _writable(path: Path) -> str | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return f"cannot write there ({exc.strerror})"
    return None


def state_line(settings: Settings) -> str:
    """Where this configuration keeps its state, and where the other mode keeps its own."""
    where = f"ledger, jobs and benchmarks in the database above, media and reports in the output dir, catalog cache in {settings.home / 'cache'}"
    if settings.real_home is not None:
        return f"simulated, sealed off: {where}; the real ones (home {settings.real_home}) are never touched"
    return f"{where}; --simulate keeps its own under {settings.home / SIMULATED_DIR}"


async def run_doctor(*, simulate: bool) -> int:
    try:
        settings: Settings = load_settings(simulate=simulate)
    except ConfigError as exc:
        _line(False, "settings", str(exc))
        return 1
    problems = 0
    if simulate:
        from .common import simulated

        settings = simulated(settings)
        _line(True, "mode", f"simulator at {settings.base_url}")
    _line(True, "settings", f"valid; default model {settings.default_model}; toolsets {','.join(settings.toolsets)}")
    if settings.api_key:
        _line(True, "api key", f"set ({settings.api_key.masked()})")
    own = " (the simulator's own)" if settings.real_home is not None else ""
    folders = (("home", settings.home, own), ("input dir", settings.input_dir, ""), ("output dir", settings.output_dir, own))
    for label, folder, note in folders:
        why = _writable(folder)
        problems += why is not None
        _line(why is None, label, f"{folder}" + (f": {why}; set another folder in the environment" if why else note))
    _line(True, "database", (settings.database_url.split("@")[-1] if "@" in settings.database_url else settings.database_url) + own)
    _line(True, "state", state_line(settings))

    from ..upstream import Gateway

    gateway = Gateway(settings)
    try:
        try:
            models = await gateway.get_json("models", {"output_modalities": "all"}, timeout_s=15)
            _line(True, "base url", f"{settings.base_url} answers; {len(models.get('data', []))} models listed")
        except ToolFailure as exc:
            problems += 1
            _line(False, "base url", f"{settings.base_url}: {exc.message}")
        try:
            key = (await gateway.get_json("key", timeout_s=15)).get("data", {})
            limit = key.get("limit")
            remaining = key.get("limit_remaining")
            budget = "no limit" if limit is None else f"limit ${limit:.2f}, ${remaining:.2f} left"
            _line(True, "key check", f"accepted; used ${key.get('usage', 0):.4f}; {budget}; free tier: {key.get('is_free_tier')}")
        except ToolFailure as exc:
            problems += 1
            _line(False, "key check", exc.message)
    finally:
        await gateway.aclose()
    print(("All checks passed." if not problems else f"{problems} problem(s) to fix."), file=sys.stdout)
    return 0 if not problems else 1


def run(args: argparse.Namespace) -> int:
    return asyncio.run(run_doctor(simulate=args.simulate))
