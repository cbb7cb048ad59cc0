"""What several `openrouter-mcp` commands share: logging to stderr, loading the settings (or exiting with
a configuration error) and pointing the settings at an in-process simulator."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..config import SIMULATOR_KEY, ConfigError, Settings, load_settings


def setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request is noise at INFO; the gateway logs what matters (retries, failures).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def settings_or_exit(*, require_key: bool = True, **overrides: Any) -> Settings:
    try:
        return load_settings(require_key=require_key, **overrides)
    except ConfigError as exc:
        print(f"openrouter-mcp: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def simulated(settings: Settings) -> Settings:
    """Start the built-in simulator in this process and point the settings at it."""
    from ..config import Secret
    from ..simulator.server import start_in_thread

    sim = start_in_thread()
    logging.getLogger("openrouter_mcp").info("simulator listening on %s", sim.url)
    return settings.with_overrides(base_url=sim.api_url, api_key=Secret(SIMULATOR_KEY))
