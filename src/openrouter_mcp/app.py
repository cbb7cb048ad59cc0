"""The process-wide application object: settings plus the shared clients (gateway, storage, ledger,
jobs), each created on first use so that start-up stays fast. Handlers hold no per-session state;
anything that must outlive a call lives in storage."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .config import Settings
from .core.identity import current_user

if TYPE_CHECKING:
    from .services.catalog.store import Catalog
    from .services.jobs import Jobs
    from .services.ledger.paid import Ledger
    from .storage import Storage
    from .upstream import Gateway

log = logging.getLogger("openrouter_mcp")


class App:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._user_settings: dict[str, Settings] = {}
        self._gateway: Gateway | None = None
        self._storage: Storage | None = None
        self._storage_lock = asyncio.Lock()
        self._ledger: Ledger | None = None
        self._jobs: Jobs | None = None
        self._catalog: Catalog | None = None
        self._opener: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def settings(self) -> Settings:
        """The settings as the current user sees them: on the team server each user saves into (and reads
        back from) a folder of their own under the output folder, `<output>/users/<name>/`, so one user's
        files and links never reach another; the local user keeps the output folder itself."""
        user = current_user()
        if not user.team:
            return self._settings
        mine = self._user_settings.get(user.name)  # read on every step of a call: the folder is worked out once
        if mine is None:
            mine = self._user_settings[user.name] = self._settings.with_overrides(output_dir=self._settings.output_dir / "users" / user.folder)
        return mine

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = settings
        self._user_settings.clear()

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            from .upstream import Gateway

            self._gateway = Gateway(self._settings)
        return self._gateway

    async def storage(self) -> Storage:
        """The database, opened (and migrated) once per process on first use."""
        if self._storage is None:
            async with self._storage_lock:
                if self._storage is None:
                    from .storage import open_storage

                    storage = await open_storage(self._settings.database_url)
                    self._storage = storage
                    await self.jobs.sweep_stale()
                    # Costs a previous run could not read yet are filled in by this one.
                    self.ledger.ensure_reconciler()
        return self._storage

    @property
    def opened_storage(self) -> Storage | None:
        """The database if it is open already, else None (it is not opened by asking)."""
        return self._storage

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            from .services.ledger.paid import Ledger

            self._ledger = Ledger(self)
        return self._ledger

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from .services.catalog.store import Catalog

            self._catalog = Catalog(self)
        return self._catalog

    @property
    def jobs(self) -> Jobs:
        if self._jobs is None:
            from .services.jobs import Jobs

            self._jobs = Jobs(self)
        return self._jobs

    def settle_soon(self, delay_s: float) -> None:
        """Open the database `delay_s` after start-up, in the background, so that what a stopped process
        left (pending ledger rows, costs still to read, stale jobs) is settled even if no call comes.
        The first request never waits for it."""

        async def open_quietly() -> None:
            try:
                await self.storage()
            except Exception as exc:  # an unreachable database is reported by the first call that needs it
                log.warning("could not open the database at start-up (%s); trying again at the first call", exc)

        def start() -> None:
            task = asyncio.get_running_loop().create_task(open_quietly())
            self._background.add(task)  # held until done, so the loop does not drop it
            task.add_done_callback(self._background.discard)

        self._opener = asyncio.get_running_loop().call_later(delay_s, start)

    async def aclose(self) -> None:
        if self._opener is not None:
            self._opener.cancel()
        if self._jobs is not None:
            await self._jobs.aclose()
        if self._ledger is not None:
            await self._ledger.aclose()
        if self._gateway is not None:
            await self._gateway.aclose()
        if self._storage is not None:
            await self._storage.close()
