"""The MCP Apps views (extension `io.modelcontextprotocol/ui`, spec: modelcontextprotocol/ext-apps,
specification/2026-01-26/apps.mdx). One `ui://` HTML resource, the view shell, serves every tool that
has a view: the host renders it in a sandboxed iframe, the shell does the `ui/initialize` handshake over
postMessage and, given the tool result (`ui/notifications/tool-result`), shows the view the server drew
for it, which travels in the result's `_meta` (delivered to the view, not to the model: "Data Passing" in
the spec). The server adds that view only for a client that negotiated the extension; every other client
gets the same result as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.apps import Apps, client_supports_apps
from mcp_types import CallToolResult

from .. import __version__
from .page import document

VIEW_URI = "ui://or/view"
# The key of a result's `_meta` that carries its view: markup drawn by this server, every value escaped.
VIEW_META_KEY = "openrouter-mcp/view"
# A tool's `_meta` that binds it to the view shell (tools/list carries it: keep it short).
TOOL_META: dict[str, Any] = {"ui": {"resourceUri": VIEW_URI}}

# The shell's only script. It inserts the server's markup (the page's policy allows no other script, so
# nothing in that markup can run) or, for a result without a view, the result's text.
SHELL_SCRIPT = (
    "(()=>{const post=m=>parent.postMessage(Object.assign({jsonrpc:'2.0'},m),'*');const main=document.getElementById('view');"
    "const size=()=>post({method:'ui/notifications/size-changed',params:{width:document.documentElement.scrollWidth,height:document.documentElement.scrollHeight}});"
    "const show=r=>{const v=r&&r._meta&&r._meta['" + VIEW_META_KEY + "'];"
    "if(typeof v==='string'){main.innerHTML=v}else{const p=document.createElement('pre');"
    "p.textContent=((r&&r.content)||[]).filter(c=>c.type==='text').map(c=>c.text).join('\\n');main.replaceChildren(p)}"
    "document.body.dataset.state=r&&r.isError?'error':'shown';size()};"
    "addEventListener('message',e=>{if(e.source!==parent)return;const m=e.data;if(!m||m.jsonrpc!=='2.0')return;"
    "if(m.id==='init'&&m.result){post({method:'ui/notifications/initialized',params:{}});return}"
    "if(m.method==='ui/notifications/tool-result'){show(m.params)}"
    "else if(m.method==='ui/notifications/tool-cancelled'){main.textContent='Cancelled.'}"
    "else if(m.method==='ui/resource-teardown'&&m.id!==undefined){post({id:m.id,result:{}})}});"
    "post({id:'init',method:'ui/initialize',params:{appCapabilities:{availableDisplayModes:['inline']},"
    "appInfo:{name:'openrouter-mcp',version:'" + __version__ + "'},protocolVersion:'2026-01-26'}})})();"
)
SHELL = document("OpenRouter", '<main id="view"><p class="note">Waiting for the result…</p></main>', script=SHELL_SCRIPT)


def extension() -> Apps:
    apps = Apps()
    apps.add_html_resource(VIEW_URI, SHELL, name="view", description="Charts and tables of openrouter-mcp's results")
    return apps


def wants_view(result: CallToolResult, ctx: Any) -> bool:
    """Whether `result` gets a view: a success with structured output, for a client that renders MCP Apps."""
    return ctx is not None and not result.is_error and result.structured_content is not None and client_supports_apps(ctx)


def with_view(result: CallToolResult, ctx: Any, draw: Callable[[dict[str, Any]], str]) -> CallToolResult:
    """`result` with its view, drawn from its own structured output, in `_meta` when the client renders MCP
    Apps; unchanged for any other client (and for an error or a job still running)."""
    if not wants_view(result, ctx) or result.structured_content is None:
        return result
    return result.model_copy(update={"meta": {**(result.meta or {}), VIEW_META_KEY: draw(result.structured_content)}})
