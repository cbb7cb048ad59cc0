"""`python -m openrouter_mcp.cli`: the same command as `openrouter-mcp`."""

from . import main

raise SystemExit(main())
