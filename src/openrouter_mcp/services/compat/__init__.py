"""The two servers users move from, physics91/openrouter-mcp and stabgan/openrouter-mcp-multimodal, read
onto ours: their argument names and values turned into our tools' arguments (`physics91`, `stabgan`, each
through a `call.Call`), and our results turned into the shapes their own tools documented (`shapes`).
Knows nothing of MCP."""
