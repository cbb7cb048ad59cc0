"""The baseline every server benchmark is a ratio against: a ten-line MCPServer whose one tool makes one
plain HTTP POST to the simulator. Run: python benchmarks/baseline_server.py [--http PORT]"""

import logging
import os
import sys

import httpx
from mcp.server.mcpserver import MCPServer

logging.getLogger("httpx").setLevel(logging.WARNING)

server = MCPServer("baseline")
client = httpx.AsyncClient(base_url=os.environ["OPENROUTER_BASE_URL"], headers={"Authorization": "Bearer " + os.environ["OPENROUTER_API_KEY"]})


@server.tool()
async def chat_completion(messages: list[dict], model: str) -> str:
    resp = await client.post("/chat/completions", json={"model": model, "messages": messages})
    return str(resp.json()["choices"][0]["message"]["content"])


if __name__ == "__main__":
    if "--http" in sys.argv:
        server.run("streamable-http", port=int(sys.argv[sys.argv.index("--http") + 1]), stateless_http=True)
    else:
        server.run()
