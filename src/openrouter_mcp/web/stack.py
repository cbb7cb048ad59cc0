"""The HTTP application of `serve --http`: the MCP SDK's Streamable HTTP app inside this package's layers,
outermost first: network edges (Host, Origin, client address), the web dashboard (its own sign-in),
authentication, the per-user stream cap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from .access import Access
from .dashboard import Dashboard
from .edges import EdgeMiddleware, Edges
from .gate import AuthGate
from .oauth import JwtVerifier, protected_resource_routes, resource_url
from .sessions import StatelessSessions
from .streams import StreamCap
from .tokens import TeamTokenVerifier

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from ..app import App


def build_http_app(server: MCPServer[Any], core: App, access: Access) -> ASGIApp:
    team = core.settings.team
    # The SDK's own Host/Origin check is off: EdgeMiddleware makes the same check on every path, on every
    # bind, with the names configured here (the SDK's would refuse a proxy's public Host on a loopback bind).
    inner = server.streamable_http_app(
        stateless_http=True, host=access.host, transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    oauth: JwtVerifier | None = None
    metadata_url = None
    if team.oauth_issuer and team.oauth_audience and team.public_url:
        resource = resource_url(team.public_url)
        inner.router.routes.extend(protected_resource_routes(resource, team.oauth_issuer))
        metadata_url = build_resource_metadata_url(resource)
        oauth = JwtVerifier(issuer=team.oauth_issuer, audience=team.oauth_audience, jwks_url=team.oauth_jwks_url)
    verifier = TeamTokenVerifier(core, oauth)
    app: ASGIApp = StreamCap(StatelessSessions(inner), team.max_streams_per_user)
    app = AuthGate(app, core=core, verifier=verifier, open_when_empty=access.open_when_empty, resource_metadata_url=metadata_url)
    # /dashboard signs people in with the same tokens, through a cookie (see dashboard.py).
    app = Dashboard(app, core=core, verifier=verifier, open_when_empty=access.open_when_empty)
    return EdgeMiddleware(app, Edges.from_settings(team))
