"""The docs that are generated from code are current."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tools_reference_matches_the_server() -> None:
    spec = importlib.util.spec_from_file_location("gen_tools_md", ROOT / "scripts" / "gen_tools_md.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = asyncio.run(module.render())
    assert (ROOT / "docs" / "tools.md").read_text() == expected, "docs/tools.md is stale: run python scripts/gen_tools_md.py"
