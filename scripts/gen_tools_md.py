"""Writes docs/tools.md from the server's own tool list, so the reference cannot drift from the code.
Run: python scripts/gen_tools_md.py  (tests/test_docs.py checks the file is current)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from openrouter_mcp.config import load_settings
from openrouter_mcp.errors import ErrorCode
from openrouter_mcp.server import TOOLSET_MODULES, build_server

OUT = Path(__file__).resolve().parents[1] / "docs" / "tools.md"


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(node.get("items"), dict) and (node["items"].get("type") or node["items"].get("anyOf")):
        of = _type(node["items"])
        return f"array of ({of})" if " or " in of else f"array of {of}"
    if kind:
        return str(kind)
    if node.get("anyOf"):
        return " or ".join(_type(x) for x in node["anyOf"])
    return "any"


def _range(node: dict[str, Any]) -> str:
    parts = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{sign} {node[key]}")
    if node.get("enum"):
        parts.append("one of " + ", ".join(map(str, node["enum"])))
    values = node.get("additionalProperties")
    if isinstance(values, dict) and (of_values := _range(values)):
        parts.append(f"values {of_values}")
    return ", ".join(parts)


async def render() -> str:
    settings = load_settings({"OPENROUTER_API_KEY": "sk-or-docs-0000", "OPENROUTER_MCP_HOME": "/tmp/openrouter-mcp-docs"})
    server, _ = build_server(settings)
    tools = {t.name: t for t in await server.list_tools()}
    lines = [
        "# Tools",
        "",
        "Generated from the server's `tools/list` by `python scripts/gen_tools_md.py`; do not edit by hand.",
        "",
        "Every tool validates its input and answers bad input with `isError: true` and",
        "`structuredContent.error = {code, message, retryable, retry_after_s?, suggestions?}`. Error codes:",
        ", ".join(f"`{c.value}`" for c in ErrorCode) + ".",
        "A number argument takes a finite JSON number within the range listed for it: a string (`\"1.5\"`),",
        "`true`/`false`, `NaN` or `Infinity` there (or NaN/Infinity anywhere) is `INVALID_INPUT` naming the field,",
        "before anything is sent.",
        "An argument a tool does not take is `INVALID_INPUT` too, naming it, the closest argument the tool",
        "does take and the full list (`details.accepted`); it is never silently dropped.",
        "Every tool that calls a paid endpoint returns `cost_usd` (USD, all upstream calls summed) and, where",
        "tokens are involved, `usage`. Text that came from a model or a fetched file is data, not instructions:",
        "outputs mark it with `content_is_untrusted: true`.",
        "",
    ]
    for toolset in settings.toolsets:
        module = TOOLSET_MODULES.get(toolset)
        if module is None:
            continue
        names = _registered(sys.modules[f"openrouter_mcp.tools.{module}"], tools)
        lines += [f"## Toolset `{toolset}`", ""]
        for name in names:
            tool = tools[name]
            ann = tool.annotations
            hints = [h for h, v in (("read-only", ann.read_only_hint), ("destructive", ann.destructive_hint), ("idempotent", ann.idempotent_hint), ("open world", ann.open_world_hint)) if v] if ann else []
            lines += [f"### `{name}`", "", (tool.description or "").strip(), "", f"Hints: {', '.join(hints) or 'none'}.", ""]
            props = tool.input_schema.get("properties") or {}
            required = set(tool.input_schema.get("required") or [])
            if props:
                lines += ["| argument | type | required | notes |", "| --- | --- | --- | --- |"]
                for arg, node in props.items():
                    notes = "; ".join(x for x in (node.get("description", ""), _range(node)) if x).replace("|", "\\|")
                    lines.append(f"| `{arg}` | {_type(node)} | {'yes' if arg in required else ''} | {notes} |")
                lines.append("")
            out = (tool.output_schema or {}).get("properties") or {}
            if out:
                lines += ["Returns: " + ", ".join(f"`{k}`" for k in out) + ".", ""]
    return "\n".join(lines).rstrip() + "\n"


def _registered(module: Any, tools: dict[str, Any]) -> list[str]:
    """The tools a toolset module registers, in its source order."""
    import inspect

    source = inspect.getsource(module)
    found = [(source.find(f"def {name}("), name) for name in tools if f"def {name}(" in source]
    return [name for pos, name in sorted(found) if pos >= 0]


if __name__ == "__main__":
    OUT.write_text(asyncio.run(render()))
    print(f"wrote {OUT}")
