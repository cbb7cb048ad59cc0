"""When `serve --http` may run without tokens: only while the database holds no user and OAuth is off,
and then only on a loopback address (one person's machine) or with an explicit `--no-auth`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Access:
    host: str
    no_auth: bool
    oauth: bool

    @property
    def open_when_empty(self) -> bool:
        """Whether a request without a token is let in while there are no users."""
        return not self.oauth and (self.no_auth or is_loopback(self.host))

    def at_start(self, users: int, url: str) -> tuple[bool, str | None]:
        """Whether the server may start with this many users, and the line to print on stderr, if any."""
        if self.oauth or users:
            return True, None
        if is_loopback(self.host):
            return True, (
                f"openrouter-mcp: warning: no users and no OAuth, so {url} needs no token: anyone on this machine can use it. "
                "`openrouter-mcp users add NAME` makes every request need one."
            )
        if self.no_auth:
            return True, (
                f"openrouter-mcp: WARNING: --no-auth: {url} is OPEN, WITHOUT AUTHENTICATION, to anyone who can reach {self.host}, "
                "who can spend on this server's OpenRouter key. It closes when a user is added with `openrouter-mcp users add NAME`."
            )
        return False, (
            f"openrouter-mcp: refusing to serve {url} without authentication: there are no users and OAuth is not configured. "
            "Add a user with `openrouter-mcp users add NAME` (every request then needs its token), or pass --no-auth to serve it open anyway."
        )
