"""What several `openrouter-mcp` commands share: logging to stderr, loading the settings (or exiting with
a configuration error), pointing the settings at an in-process simulator, with the state sealed off
from real use (see `config.for_simulation`), and `Refused`, a command's refusal with its exit status."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..config import SIMULATOR_KEY, ConfigError, Settings, for_simulation, load_settings


class Refused(Exception):
    """The command cannot do what was asked; `status` is its exit status (1 refused or failed, 2 bad usage)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request is noise at INFO; the gateway logs what matters (retries, failures).
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def settings_or_exit(*, require_key: bool = True, **overrides: Any) -> Settings:
    """The settings, or exit 2 with the configuration error. With simulate=True the state is already sealed
    off under `<home>/simulated/`, before anything can open the real database or folders."""
    try:
        settings = load_settings(require_key=require_key, **overrides)
    except ConfigError as exc:
        print(f"openrouter-mcp: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return for_simulation(settings) if settings.simulate else settings


def simulated(settings: Settings) -> Settings:
    """Start the built-in simulator in this process and point the settings at it, with every piece of state
    (database, catalog cache, output folder) in `<home>/simulated/`, never the real ones."""
    from ..config import Secret
    from ..simulator.server import start_in_thread

    settings = for_simulation(settings)
    sim = start_in_thread()
    logging.getLogger("openrouter_mcp").info("simulator listening on %s; simulated state in %s", sim.url, settings.home)
    return settings.with_overrides(base_url=sim.api_url, api_key=Secret(SIMULATOR_KEY))
