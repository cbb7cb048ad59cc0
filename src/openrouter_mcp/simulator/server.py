"""The offline OpenRouter: a real HTTP server that answers `/api/v1/...` in OpenRouter's wire format,
bills every generation, keeps a request log, and injects faults on request (see `faults.py`).

This module assembles the routing table from the route modules (`catalog_routes`, `chat`, `embeddings`, `rerank`,
`account`, `control`, `media`, `keys`, `auth`) and runs it. Start it in-process with `start_in_thread()` (tests,
`serve --simulate`, `demo`) or alone with `openrouter-mcp simulate`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from ..core.net import loopback_socket
from . import embeddings, media
from .account import AccountRoutes
from .auth import AuthRoutes
from .catalog_routes import CatalogRoutes
from .chat import ChatRoutes
from .control import ControlRoutes
from .keys import KeyGuard, KeyRoutes
from .rerank import RerankRoutes
from .state import Simulator


def build_app(sim: Simulator) -> Starlette:
    """The simulator's ASGI app: every route, answering from `sim`'s state."""
    models = CatalogRoutes(sim)
    chat = ChatRoutes(sim)
    account = AccountRoutes(sim)
    control = ControlRoutes(sim)
    keys = KeyRoutes(sim)
    rerank = RerankRoutes(sim)
    return Starlette(
        routes=[
            Route("/api/v1/models", models.list_models),
            Route("/api/v1/models/{author}/{slug}/endpoints", models.endpoints),
            Route("/api/v1/chat/completions", chat.chat, methods=["POST"]),
            Route("/api/v1/embeddings", functools.partial(embeddings.handle, sim), methods=["POST"]),
            Route("/api/v1/rerank", rerank.rerank, methods=["POST"]),
            Route("/api/v1/generation", account.generation),
            Route("/api/v1/key", account.key),
            Route("/api/v1/credits", account.credits),
            Route("/_sim/requests", control.requests_log),
            Route("/_sim/generations", control.generations_log),
            Route("/_sim/reset", control.reset, methods=["POST"]),
            *media.MediaRoutes(sim).routes(),
            *keys.routes(),
            *AuthRoutes(sim).routes(),
        ],
        middleware=[Middleware(KeyGuard, keys=keys)],
    )


@dataclass
class RunningSimulator:
    simulator: Simulator
    url: str
    _server: Any
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_in_thread(host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Start a simulator on a free loopback port in a daemon thread; returns once it accepts connections."""
    import uvicorn

    sim = Simulator()
    sock = loopback_socket(host, port)
    actual_port = sock.getsockname()[1]
    # log_config=None: uvicorn must not configure logging (its access log would write to stdout,
    # which belongs to JSON-RPC when the server runs over stdio).
    config = uvicorn.Config(build_app(sim), log_config=None, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name="openrouter-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.005)
    if not server.started:
        raise RuntimeError("the simulator did not start within 10 s")
    return RunningSimulator(sim, f"http://{host}:{actual_port}", server, thread)


def serve_forever(host: str = "127.0.0.1", port: int = 8790) -> None:
    """Run the simulator in the foreground (the `simulate` command)."""
    import uvicorn

    sim = Simulator()
    sock = loopback_socket(host, port)
    config = uvicorn.Config(build_app(sim), log_level="info", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
