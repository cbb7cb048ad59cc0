"""`openrouter-mcp models` answers without loading the MCP SDK or the MCP tools."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_the_models_command_does_not_import_the_mcp_sdk(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["OPENROUTER_MCP_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "openrouter_mcp", "models", "--simulate", "sonnet", "--limit", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("anthropic/claude-sonnet-4.5 ")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "openrouter_mcp.services.catalog.search" in imported
    assert not [m for m in imported if re.match(r"(mcp|mcp_types|openrouter_mcp\.tools)(\.|$)", m)]
