"""Listening sockets, shared by the HTTP server and the built-in simulator (without importing either)."""

from __future__ import annotations

import socket


def loopback_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket created with IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted
    connections (a socket made with proto=0 gets ~44 ms Nagle stalls on keep-alive connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock
