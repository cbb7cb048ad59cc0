"""The event bus behind `subscriptions/listen` and task status notifications: what one replica publishes
reaches the listening clients of every replica.

It is the MCP SDK's subscription bus seam (`mcp.server.subscriptions.SubscriptionBus`): `publish` an event,
`subscribe` a local listener. With one process (SQLite, stdio) it is the SDK's in-process bus. On
PostgreSQL, the database every replica already shares carries it: each replica holds one connection that
LISTENs on one channel, `publish` is a NOTIFY on it, and every replica (the publisher too, through the same
channel) hands what arrives to its local listeners. No other broker to run.

Events are the SDK's list-changed and resource-updated events, plus `TaskStatus` (a task changed status)
and `ResourcesChangedFor` (a user's saved files changed).
Delivery is best effort, as the protocol allows for these notifications: a replica whose connection drops
reconnects at the next publish or listen, and clients keep polling `tasks/get`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ToolsListChanged,
)

log = logging.getLogger("openrouter_mcp.events")

CHANNEL = "openrouter_mcp_events"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; our events are a few dozen.
MAX_PAYLOAD_BYTES = 7900


@dataclass(frozen=True)
class TaskStatus:
    """The task (job) `task_id` of `user` moved to `status` (a job status: running, succeeded, failed, cancelled)."""

    task_id: str
    user: str
    status: str


@dataclass(frozen=True)
class ResourcesChangedFor:
    """The resources `user` sees changed (a file saved for them): told to that user's listeners only."""

    user: str


Event = ToolsListChanged | PromptsListChanged | ResourcesListChanged | ResourceUpdated | TaskStatus | ResourcesChangedFor
Listener = Callable[[Any], None]


def encode(event: Event) -> str:
    if isinstance(event, TaskStatus):
        body: dict[str, Any] = {"kind": "task", "id": event.task_id, "user": event.user, "status": event.status}
    elif isinstance(event, ResourceUpdated):
        body = {"kind": "resource", "uri": event.uri}
    elif isinstance(event, ResourcesChangedFor):
        body = {"kind": "resources_of", "user": event.user}
    else:
        body = {"kind": type(event).__name__}
    return json.dumps(body, separators=(",", ":"))


_SIMPLE: dict[str, Event] = {"ToolsListChanged": ToolsListChanged(), "PromptsListChanged": PromptsListChanged(), "ResourcesListChanged": ResourcesListChanged()}


def decode(payload: str) -> Event | None:
    try:
        body = json.loads(payload)
        kind = body["kind"]
        if kind == "task":
            return TaskStatus(task_id=str(body["id"]), user=str(body["user"]), status=str(body["status"]))
        if kind == "resource":
            return ResourceUpdated(uri=str(body["uri"]))
        if kind == "resources_of":
            return ResourcesChangedFor(user=str(body["user"]))
        return _SIMPLE.get(kind)
    except (ValueError, KeyError, TypeError):
        return None


class LocalBus(InMemorySubscriptionBus):
    """One process: the SDK's in-process bus, carrying task events too."""

    async def publish(self, event: Any) -> None:
        # Widened from the SDK's list-changed events to this package's own (TaskStatus, ResourcesChangedFor),
        # as PostgresBus.publish takes them: the body is the SDK's.
        await super().publish(event)

    async def ready(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class PostgresBus:
    """Replicas sharing a PostgreSQL database: LISTEN/NOTIFY on `CHANNEL`."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.channel = channel_of(dsn)
        self._local = InMemorySubscriptionBus()
        self._conn: Any = None
        self._connecting: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._delivering: set[asyncio.Future[None]] = set()

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(self.channel, self._arrived)
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _lost(self, _conn: Any) -> None:
        log.warning("the event bus lost its database connection; reconnecting at the next use")
        self._conn = None

    def _arrived(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        event = decode(str(payload))
        if event is not None:
            delivering = asyncio.ensure_future(self._local.publish(event))  # type: ignore[arg-type]
            self._delivering.add(delivering)  # held until done: the loop keeps only weak references to tasks
            delivering.add_done_callback(self._delivering.discard)

    async def ready(self) -> None:
        """Connected and listening (what a listen stream waits for before it acknowledges)."""
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                await self._connect()

    async def publish(self, event: Any) -> None:
        payload = encode(event)
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            log.warning("event too large for the bus; dropped")
            return
        try:
            await self.ready()
            async with self._lock:
                await self._conn.execute("SELECT pg_notify($1, $2)", self.channel, payload)
        except Exception as exc:  # best effort: a notification is optional, polling still works
            log.warning("could not publish an event on the bus (%s)", exc)
            self._conn = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        unsubscribe = self._local.subscribe(listener)
        if self._conn is None and (self._connecting is None or self._connecting.done()):
            with contextlib.suppress(RuntimeError):  # no running loop: connected at the first publish instead
                self._connecting = asyncio.get_running_loop().create_task(self._quietly_ready())
        return unsubscribe

    async def _quietly_ready(self) -> None:
        try:
            await self.ready()
        except Exception as exc:
            log.warning("the event bus could not connect to the database (%s)", exc)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


Bus = LocalBus | PostgresBus


def channel_of(dsn: str) -> str:
    """The NOTIFY channel of the servers sharing this database URL: channels are per database, so servers
    kept apart by `search_path` (each its own schema) get a channel each."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(dsn).query)
    path = (query.get("search_path") or [""])[0]
    return CHANNEL if not path else f"{CHANNEL}_{hashlib.sha256(path.encode()).hexdigest()[:16]}"


def make_bus(database_url: str) -> Bus:
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresBus(database_url)
    return LocalBus()
