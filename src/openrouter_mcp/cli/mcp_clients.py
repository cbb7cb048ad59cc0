"""The MCP clients `openrouter-mcp init` sets up: the file each one documents for its (user-wide) servers, on
every platform, its format, the key its servers live under, and the shape of one stdio server entry."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


def _app_data() -> Path:
    """Where Electron apps (Claude Desktop, VS Code) keep per-user files: %APPDATA% on Windows,
    ~/Library/Application Support on macOS, $XDG_CONFIG_HOME (else ~/.config) on Linux."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _codex_home() -> Path:
    return Path(os.environ["CODEX_HOME"]) if os.environ.get("CODEX_HOME") else Path.home() / ".codex"


def _gemini_filters(doc: dict[str, Any], names: list[str]) -> list[str]:
    """Gemini CLI starts only the servers its `mcp.allowed` list names (when there is one), and none in `mcp.excluded`."""
    mcp = doc.get("mcp")
    if not isinstance(mcp, dict):
        return []
    allowed, excluded = mcp.get("allowed"), mcp.get("excluded")
    notes = [f"Gemini CLI will not start {n!r}: add it to mcp.allowed in the settings" for n in names if isinstance(allowed, list) and n not in allowed]
    return notes + [
        f"Gemini CLI will not start {n!r}: take it out of mcp.excluded in the settings" for n in names if isinstance(excluded, list) and n in excluded
    ]


@dataclass(frozen=True, slots=True)
class McpClient:
    id: str
    title: str
    format: Literal["json", "toml"]
    servers_key: str
    # The client wants "type": "stdio" in a command entry (VS Code requires it; Claude Code writes it itself).
    typed: bool
    after: str
    locate: Callable[[], Path]
    # Claude Code keeps tool permissions (`mcp__<server>__<tool>`) in a second file.
    permissions: Callable[[], Path] | None = None
    # Claude Code also keeps per-project servers in the same file, projects[<path>].mcpServers (local scope).
    project_servers: bool = False
    # Notes on the named servers that the settings in the file (the new document) keep the client from starting.
    startup_notes: Callable[[dict[str, Any], list[str]], list[str]] | None = None

    def server_maps(self, doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every map of servers in the file, with where it is: the user-wide one, and for Claude Code the
        per-project maps that `claude mcp add` fills by default (local scope)."""
        top = doc.get(self.servers_key)
        if isinstance(top, dict):
            yield self.servers_key, top
        if self.project_servers and isinstance(doc.get("projects"), dict):
            for project, state in doc["projects"].items():
                if isinstance(state, dict) and isinstance(state.get("mcpServers"), dict):
                    yield f"projects[{project}].mcpServers", state["mcpServers"]

    def entry(self, command: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
        """A new stdio entry in this client's shape."""
        entry: dict[str, Any] = {"type": "stdio"} if self.typed else {}
        entry |= {"command": command, "args": args}
        if env:
            entry["env"] = env
        return entry


CLIENTS: dict[str, McpClient] = {
    client.id: client
    for client in (
        # Claude Desktop: "Developer > Edit Config" opens claude_desktop_config.json, {"mcpServers": {...}}, in
        # ~/Library/Application Support/Claude on macOS and %APPDATA%\Claude on Windows:
        # https://modelcontextprotocol.io/docs/develop/connect-local-servers
        # There is no official Linux build; the community builds use the same Electron folder, ~/.config/Claude.
        McpClient(
            "claude-desktop",
            "Claude Desktop",
            "json",
            "mcpServers",
            typed=False,
            after="quit Claude Desktop completely and start it again",
            locate=lambda: _app_data() / "Claude" / "claude_desktop_config.json",
        ),
        # Claude Code: user-scope servers are the top-level "mcpServers" of ~/.claude.json (local-scope ones sit
        # under projects[<path>].mcpServers of the same file), entries {"type": "stdio", "command", "args", "env"}:
        # https://code.claude.com/docs/en/mcp ; permission rules such as "mcp__<server>__<tool>" are in
        # ~/.claude/settings.json, "permissions": {"allow", "ask", "deny"}: https://code.claude.com/docs/en/settings
        McpClient(
            "claude-code",
            "Claude Code",
            "json",
            "mcpServers",
            typed=True,
            after="start a new Claude Code session (and check it with `claude mcp list`)",
            locate=lambda: Path.home() / ".claude.json",
            permissions=lambda: Path.home() / ".claude" / "settings.json",
            project_servers=True,
        ),
        # Cursor: the global ~/.cursor/mcp.json, {"mcpServers": {"name": {"command", "args", "env"}}}:
        # https://cursor.com/docs/context/mcp
        McpClient(
            "cursor",
            "Cursor",
            "json",
            "mcpServers",
            typed=False,
            after="restart Cursor, then switch the server on under Settings > MCP if it is off",
            locate=lambda: Path.home() / ".cursor" / "mcp.json",
        ),
        # VS Code: mcp.json in the user profile ("MCP: Open User Configuration"), top-level "servers", stdio
        # entries {"type": "stdio", "command", "args", "env"}; the file may hold comments (JSONC):
        # https://code.visualstudio.com/docs/copilot/reference/mcp-configuration ; the profile folder is
        # <app data>/Code/User: https://code.visualstudio.com/docs/getstarted/settings#_settings-file-locations
        McpClient(
            "vscode",
            "VS Code",
            "json",
            "servers",
            typed=True,
            after="reload the VS Code window; the server appears under MCP: List Servers",
            locate=lambda: _app_data() / "Code" / "User" / "mcp.json",
        ),
        # Windsurf: ~/.codeium/windsurf/mcp_config.json (%USERPROFILE% on Windows), {"mcpServers": {...}}:
        # https://docs.windsurf.com/windsurf/cascade/mcp
        McpClient(
            "windsurf",
            "Windsurf",
            "json",
            "mcpServers",
            typed=False,
            after="press refresh in Cascade's MCP panel (or restart Windsurf)",
            locate=lambda: Path.home() / ".codeium" / "windsurf" / "mcp_config.json",
        ),
        # Codex CLI: TOML, $CODEX_HOME/config.toml (default ~/.codex), one [mcp_servers.<name>] table with
        # command, args and an env table: https://developers.openai.com/codex/mcp ; every key, including
        # enabled_tools / disabled_tools: https://developers.openai.com/codex/config-reference
        McpClient(
            "codex",
            "Codex CLI",
            "toml",
            "mcp_servers",
            typed=False,
            after="start a new Codex session; /mcp lists the server",
            locate=lambda: _codex_home() / "config.toml",
        ),
        # Gemini CLI: the user settings file ~/.gemini/settings.json, "mcpServers" with command, args, env
        # (and includeTools / excludeTools): https://geminicli.com/docs/tools/mcp-server ;
        # file locations: https://geminicli.com/docs/cli/configuration
        McpClient(
            "gemini",
            "Gemini CLI",
            "json",
            "mcpServers",
            typed=False,
            after="start Gemini CLI again; /mcp lists the server",
            locate=lambda: Path.home() / ".gemini" / "settings.json",
            startup_notes=_gemini_filters,
        ),
    )
}
