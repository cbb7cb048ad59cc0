"""The reference every server benchmark is a ratio against, and independent of this project's code: a
ten-line MCPServer whose one tool makes one plain (non-streaming) POST with httpx2, the HTTP client the MCP
SDK itself installs, its pool unbounded. Run: python benchmarks/baseline_server.py [--http PORT]"""

import os
import sys

import httpx2
from mcp.server.mcpserver import MCPServer

server = MCPServer("baseline", log_level="WARNING")
limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
client = httpx2.AsyncClient(base_url=os.environ["OPENROUTER_BASE_URL"], headers={"Authorization": "Bearer " + os.environ["OPENROUTER_API_KEY"]}, limits=limits)


@server.tool()
async def chat_completion(messages: list[dict], model: str) -> str:
    resp = await client.post("/chat/completions", json={"model": model, "messages": messages})
    return str(resp.json()["choices"][0]["message"]["content"])


if __name__ == "__main__":
    if "--http" in sys.argv:
        server.run("streamable-http", port=int(sys.argv[sys.argv.index("--http") + 1]), stateless_http=True)
    else:
        server.run()
