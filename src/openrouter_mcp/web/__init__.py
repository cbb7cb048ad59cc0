"""The HTTP edge of `serve --http`: who may call /mcp (bearer tokens of stored users, OAuth access
tokens, or nobody's on an open loopback server), which Host and Origin it answers, the client's address
behind trusted proxies, and the per-user stream cap. See docs/http-auth.md."""

from .access import Access as Access
from .stack import build_http_app as build_http_app
