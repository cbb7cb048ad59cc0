"""The two servers users move from with `openrouter-mcp init --from`: physics91/openrouter-mcp and
stabgan/openrouter-mcp-multimodal. How a client entry that runs one is recognised, and how its environment
variables and tool names become ours (an allow-list entry for a tool we have no equivalent of is dropped).

Sources: physics91's docs/MCP_CLIENT_GUIDE.md, bin/package-launch-utils.js and .env.example
(`npx -y @physics91/openrouter-mcp@latest start`, `openrouter-mcp start`, `python -m openrouter_mcp.server`);
stabgan's README ("Quick Start", "Configuration") and python/README.md (`npx -y @stabgan/openrouter-mcp-multimodal`,
`docker run … stabgan/openrouter-mcp-multimodal`, `openrouter-multimodal`, `uvx mcp-server-openrouter-multimodal`).
Their tool lists: docs/tools.md of each (and the comparison this project keeps of them)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Per-server tool lists some clients keep inside the entry: Gemini CLI includeTools/excludeTools, Codex
# enabled_tools/disabled_tools, Windsurf disabledTools, Cline alwaysAllow and Kiro autoApprove.
TOOL_LIST_KEYS = ("includeTools", "excludeTools", "enabled_tools", "disabled_tools", "disabledTools", "alwaysAllow", "autoApprove")


def _program(command: str) -> str:
    """`/usr/local/bin/openrouter-mcp.cmd` -> `openrouter-mcp` (Windows paths too)."""
    name = re.split(r"[\\/]", command)[-1].lower()
    return re.sub(r"\.(exe|cmd|bat|ps1)$", "", name)


def words(entry: dict[str, Any]) -> tuple[str, list[str]]:
    command = entry.get("command")
    args = entry.get("args")
    return (command if isinstance(command, str) else ""), [a for a in args if isinstance(a, str)] if isinstance(args, list) else []


def _module_after_m(args: list[str]) -> list[str]:
    return args[args.index("-m") + 1 :] if "-m" in args else []


def runs_ours(entry: dict[str, Any]) -> bool:
    """The entry starts this server: `openrouter-mcp serve …` or `python -m openrouter_mcp serve …`."""
    command, args = words(entry)
    return (_program(command) == "openrouter-mcp" and args[:1] == ["serve"]) or _module_after_m(args)[:2] == ["openrouter_mcp", "serve"]


def _ms_to_s(raw: str) -> str:
    ms = float(raw)
    if not ms > 0:
        raise ValueError(raw)
    return f"{ms / 1000:g}"


_LOG_LEVELS = {"debug": "debug", "trace": "debug", "info": "info", "warn": "warning", "warning": "warning", "error": "error", "critical": "error"}


def _log_level(raw: str) -> str:
    return _LOG_LEVELS[raw.strip().lower()]


def _verbose(raw: str) -> str:
    """physics91's OPENROUTER_VERBOSE_LOGGING=true: debug logging."""
    flag = raw.strip().lower()
    if flag not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(raw)
    return "debug" if flag in ("1", "true", "yes", "on") else "info"


def _comma_list(raw: str) -> str:
    """stabgan read OPENROUTER_PROVIDER_ORDER as a JSON array; ours reads a comma list (it takes both elsewhere)."""
    if not raw.strip().startswith("["):
        return raw
    items = json.loads(raw)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(raw)
    return ",".join(items)


@dataclass(frozen=True, slots=True)
class SeedServer:
    id: str
    title: str
    launch: str
    runs: Callable[[dict[str, Any]], bool]
    # Its variable -> ours; variables named in neither map are kept as they are (OPENROUTER_API_KEY among them).
    renamed: dict[str, str]
    dropped: dict[str, str]
    # Its tool -> ours, and its tools with no equivalent -> what to use instead.
    tools: dict[str, str]
    no_tool: dict[str, str]
    convert: dict[str, Callable[[str], str]] = field(default_factory=dict)

    def env(self, env: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        """`env` with this server's variables renamed, converted or dropped; a note for each change. Values are
        never put in a note (some are secrets)."""
        out: dict[str, Any] = {}
        for name, value in env.items():
            target = self.renamed.get(name, name)
            if name in self.dropped:
                notes.append(f"dropped {name}: {self.dropped[name]}")
                continue
            if target != name and (target in env or target in out):
                notes.append(f"dropped {name}: {target} is set too, and wins")
                continue
            converted = value
            if name in self.convert and isinstance(value, str):
                try:
                    converted = self.convert[name](value)
                except (ValueError, KeyError, json.JSONDecodeError):
                    notes.append(f"dropped {name}: its value cannot be turned into {target} (see docs/configuration.md and set it by hand)")
                    continue
            if target != name:
                notes.append(f"renamed {name} to {target}" + (" (value converted)" if converted != value else ""))
            elif converted != value:
                notes.append(f"converted the value of {name} to the form ours reads")
            out[target] = converted
        return out

    def tool_names(self, names: list[Any], notes: list[str], where: str) -> list[Any]:
        """A tool list with each of this server's tool names replaced by ours, in order, without repeats."""
        out: list[Any] = []
        for name in names:
            if isinstance(name, str) and name in self.no_tool:
                notes.append(f"{where}: dropped {name} ({self.no_tool[name]})")
                continue
            new = self.tools.get(name, name) if isinstance(name, str) else name
            if new not in out:
                out.append(new)
        return out

    def rule(self, rule: Any, servers: set[str], notes: list[str], where: str) -> Any | None:
        """A Claude Code permission rule `mcp__<server>__<tool>` for one of `servers`, with the tool renamed;
        None when we have no such tool. Other rules come back unchanged."""
        if not isinstance(rule, str):
            return rule
        for server in servers:
            prefix = f"mcp__{server}__"
            if rule.startswith(prefix) and (tool := rule[len(prefix) :]) in {*self.tools, *self.no_tool}:
                if tool in self.no_tool:
                    notes.append(f"{where}: dropped {rule} ({self.no_tool[tool]})")
                    return None
                return prefix + self.tools[tool]
        return rule


def _physics91_runs(entry: dict[str, Any]) -> bool:
    command, args = words(entry)
    return (
        any("@physics91/openrouter-mcp" in w for w in (command, *args))
        or (_program(command) == "openrouter-mcp" and args[:1] == ["start"])
        or _module_after_m(args)[:1] in (["openrouter_mcp.server"], ["src.openrouter_mcp.server"])
    )


def _stabgan_runs(entry: dict[str, Any]) -> bool:
    command, args = words(entry)
    marks = ("@stabgan/openrouter-mcp-multimodal", "stabgan/openrouter-mcp-multimodal", "mcp-server-openrouter-multimodal")
    return _program(command) == "openrouter-multimodal" or any(m in w for w in (command, *args) for m in marks)


_PHYSICS91_SAME = (
    "get_usage_stats",
    "free_chat",
    "list_free_models",
    "get_free_model_metrics",
    "collective_chat_completion",
    "ensemble_reasoning",
    "adaptive_model_selection",
    "cross_model_validation",
    "collaborative_problem_solving",
    "benchmark_models",
    "get_benchmark_history",
    "export_benchmark_report",
)
_STABGAN_SAME = (
    "chat_completion",
    "rerank_documents",
    "analyze_image",
    "analyze_audio",
    "analyze_video",
    "search_models",
    "get_model_info",
    "validate_model",
    "generate_image",
    "generate_audio",
    "generate_video",
    "get_video_status",
)
_NO_SINGLE_EQUIVALENT = "ours has no single equivalent: see docs/media.md for OPENROUTER_MCP_MAX_<MEDIUM>_BYTES and OPENROUTER_MCP_FETCH_TIMEOUT_S"
_LAUNCHER_ONLY = "only its npx launcher read it"

SEEDS: dict[str, SeedServer] = {
    "physics91": SeedServer(
        "physics91",
        "physics91/openrouter-mcp",
        "npx @physics91/openrouter-mcp start, openrouter-mcp start or python -m openrouter_mcp.server",
        _physics91_runs,
        renamed={
            "OPENROUTER_APP_NAME": "OPENROUTER_APP_TITLE",
            "LOG_LEVEL": "OPENROUTER_MCP_LOG_LEVEL",
            "OPENROUTER_VERBOSE_LOGGING": "OPENROUTER_MCP_LOG_LEVEL",
        },
        dropped={
            "HOST": "ours talks to the client over stdio (HTTP is `openrouter-mcp serve --http`)",
            "PORT": "ours talks to the client over stdio (HTTP is `openrouter-mcp serve --http`)",
        },
        tools={
            "chat_with_model": "chat_completion",
            "chat_with_vision": "chat_completion",
            "list_available_models": "search_models",
            "list_vision_models": "search_models",
            **{name: name for name in _PHYSICS91_SAME},
        },
        no_tool={
            "compare_model_categories": "kept by the compat toolset (OPENROUTER_MCP_TOOLSETS=all,compat); else benchmark_models compares the models you name",
            "compare_model_performance": "kept by the compat toolset (OPENROUTER_MCP_TOOLSETS=all,compat); else benchmark_models compares the models you name",
        },
        convert={"LOG_LEVEL": _log_level, "OPENROUTER_VERBOSE_LOGGING": _verbose},
    ),
    "stabgan": SeedServer(
        "stabgan",
        "stabgan/openrouter-mcp-multimodal",
        "npx @stabgan/openrouter-mcp-multimodal, its Docker image, openrouter-multimodal or uvx mcp-server-openrouter-multimodal",
        _stabgan_runs,
        renamed={
            "DEFAULT_MODEL": "OPENROUTER_DEFAULT_MODEL",
            "OPENROUTER_LOG_LEVEL": "OPENROUTER_MCP_LOG_LEVEL",
            "OPENROUTER_MODEL_CACHE_TTL_MS": "OPENROUTER_MCP_CATALOG_TTL_S",
            "OPENROUTER_DEFAULT_VIDEO_MODEL": "OPENROUTER_MCP_ANALYZE_VIDEO_MODEL",
            "OPENROUTER_DEFAULT_VIDEO_GEN_MODEL": "OPENROUTER_MCP_GENERATE_VIDEO_MODEL",
            "OPENROUTER_IMAGE_MAX_DIMENSION": "OPENROUTER_MCP_MAX_IMAGE_SIDE_PX",
            "OPENROUTER_VIDEO_POLL_INTERVAL_MS": "OPENROUTER_MCP_VIDEO_POLL_INTERVAL_S",
            "OPENROUTER_VIDEO_GEN_MAX_BYTES": "OPENROUTER_MCP_MAX_SAVED_VIDEO_BYTES",
        },
        dropped={
            "OPENROUTER_ALLOW_UNSAFE_PATHS": "ours reads files only from OPENROUTER_INPUT_DIR and writes only to OPENROUTER_OUTPUT_DIR",
            "OPENROUTER_IMAGE_JPEG_QUALITY": "ours keeps an image's own format",
            "OPENROUTER_VIDEO_MAX_WAIT_MS": "a call's wait_seconds sets this here (docs/media.md)",
            "OPENROUTER_VIDEO_INLINE_MAX_BYTES": _NO_SINGLE_EQUIVALENT,
            **{
                f"OPENROUTER_{medium}_{limit}": _NO_SINGLE_EQUIVALENT
                for medium in ("IMAGE", "AUDIO", "VIDEO")
                for limit in ("FETCH_TIMEOUT_MS", "MAX_DOWNLOAD_BYTES", "MAX_REDIRECTS", "MAX_DATA_URL_BYTES")
            },
            "OPENROUTER_CACHE_RESPONSES": "use cache: true on chat_completion (OpenRouter's response cache)",
            "OPENROUTER_INCLUDE_REASONING": "reasoning is returned whenever the model gives it",
            "OPENROUTER_INLINE_MAX_BYTES": "media a model returns is saved and linked, not inlined",
            "OPENROUTER_IMAGE_INLINE_MAX_BYTES": "media a model returns is saved and linked, not inlined",
            "OPENROUTER_AUDIO_INLINE_MAX_BYTES": "media a model returns is saved and linked, not inlined",
            "OPENROUTER_INTEGRATION_MODEL": "only its own tests read it",
            "OPENROUTER_MCP_NPM_VERSION": _LAUNCHER_ONLY,
            "OPENROUTER_MCP_NPM_SPEC": _LAUNCHER_ONLY,
            "NPM_CONFIG_LOGLEVEL": _LAUNCHER_ONLY,
        },
        tools={"generate_video_from_image": "generate_video", **{name: name for name in _STABGAN_SAME}},
        no_tool={
            "health_check": "kept by the compat toolset (OPENROUTER_MCP_TOOLSETS=all,compat); else run `openrouter-mcp doctor`",
        },
        convert={
            "OPENROUTER_LOG_LEVEL": _log_level,
            "OPENROUTER_MODEL_CACHE_TTL_MS": _ms_to_s,
            "OPENROUTER_VIDEO_POLL_INTERVAL_MS": _ms_to_s,
            "OPENROUTER_PROVIDER_ORDER": _comma_list,
            "OPENROUTER_PROVIDER_IGNORE": _comma_list,
            "OPENROUTER_PROVIDER_QUANTIZATIONS": _comma_list,
        },
    ),
}


def docker_env(entry: dict[str, Any]) -> dict[str, str]:
    """The `-e NAME=value` pairs of a `docker run` entry (stabgan's Docker form passes the key that way)."""
    command, args = words(entry)
    if _program(command) not in ("docker", "podman"):
        return {}
    env: dict[str, str] = {}
    for i, arg in enumerate(args):
        pair = args[i + 1] if arg in ("-e", "--env") and i + 1 < len(args) else arg.split("=", 1)[1] if arg.startswith("--env=") else ""
        if "=" in pair:
            name, value = pair.split("=", 1)
            env[name] = value
    return env
