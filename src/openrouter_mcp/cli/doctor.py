"""`openrouter-mcp doctor`: checks the settings (and names the OPENROUTER_* variables it does not read), the
key, the base URL, the data folders and connectivity, and says what to fix for each problem."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import functools
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..config import SEED_ALIASES, SIMULATED_DIR, ConfigError, Settings, load_settings
from ..errors import ToolFailure
from .seed_servers import SEEDS, SeedServer


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


def _instead(seed: SeedServer, name: str, value: str) -> str:
    """What to set instead of a seed variable we read under another name, with the value converted where the
    seed wrote it another way (milliseconds, `warn`)."""
    ours = seed.renamed[name]
    if name not in seed.convert:
        return f"set {ours} instead"
    try:
        return f"set {ours}={seed.convert[name](value)} instead"
    except (ValueError, KeyError):
        return f"set {ours} instead, in the form docs/configuration.md gives"


def _unread(name: str, env: Mapping[str, str]) -> str | None:
    """What to do about an OPENROUTER_* variable the settings do not take from `env`; None when they do."""
    if (ours := SEED_ALIASES.get(name)) and env[name].strip() and env.get(ours, "").strip():
        return f"{name} is ignored: {ours} is set too, and wins; remove one of them"
    if name in known_variables():
        return None
    for seed in SEEDS.values():
        if name in seed.renamed:
            return f"{name} is a setting of {seed.title}, not read here; {_instead(seed, name, env[name])}"
        if name in seed.dropped:
            return f"{name} is a setting of {seed.title}, not read here: {seed.dropped[name]}"
    prefix = "OPENROUTER_"
    close = difflib.get_close_matches(name.removeprefix(prefix), [k.removeprefix(prefix) for k in known_variables()], n=1, cutoff=0.6)
    hint = f"did you mean {prefix}{close[0]}?" if close else "docs/configuration.md lists the settings"
    return f"{name} is not a setting of openrouter-mcp; {hint}"


def check_variables(env: Mapping[str, str]) -> int:
    """A line for each OPENROUTER_* variable in `env` that is not read, saying what to set instead, and for each
    seed variable read as ours; returns the count of the first."""
    problems = 0
    for name in sorted(n for n in env if n.startswith("OPENROUTER_")):
        if advice := _unread(name, env):
            problems += 1
            _line(False, "environment", advice)
        elif name in SEED_ALIASES and env[name].strip():
            _line(True, "environment", f"{name} is read as {SEED_ALIASES[name]}")
    return problems


async def run_doctor(*, simulate: bool) -> int:
    problems = check_variables(os.environ)
    try:
        settings: Settings = load_settings(simulate=simulate)
    except ConfigError as exc:
        _line(False, "settings", str(exc))
        return 1
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
    problems += await check_budget_totals(settings)

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


async def check_budget_totals(settings: Settings) -> int:
    """The budgets' running totals of today and this month against a fresh sum of the ledger rows, repaired
    where they disagree; 1 if the database cannot be read."""
    if settings.database_url.startswith("sqlite:///") and not Path(settings.database_url.removeprefix("sqlite://")).exists():
        _line(True, "budgets", "no ledger yet")
        return 0
    from datetime import UTC, datetime

    from ..storage import open_storage

    try:
        storage = await open_storage(settings.database_url)
        try:
            repaired = await storage.verify_budget_totals(now=datetime.now(UTC), repair=True)
        finally:
            await storage.close()
    except Exception as exc:
        _line(False, "budgets", f"cannot read the ledger ({type(exc).__name__}: {exc}); check OPENROUTER_MCP_DATABASE_URL")
        return 1
    if not repaired:
        _line(True, "budgets", "running totals of today and this month match the ledger")
    for m in repaired:
        whose = f"{m.user_name}'s" if m.scope == "user" else "the server's"
        _line(True, "budgets", f"repaired {whose} total for {m.period}: ${m.stored_usd:f} stored, ${m.rows_usd:f} in the ledger rows")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(run_doctor(simulate=args.simulate))


class _NamesAskedFor(Mapping[str, str]):
    """An empty environment that notes every name asked of it."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@functools.cache
def known_variables() -> frozenset[str]:
    """Every environment variable the settings are read from (the SEED_ALIASES among them). Found by reading
    the settings from an empty environment that notes each name asked for, so it is the readers themselves
    and cannot fall behind them."""
    asked = _NamesAskedFor()
    load_settings(asked, require_key=False)
    return frozenset(asked.names)
