"""The process-wide application object: settings plus the shared clients (gateway, storage), created
on first use so that start-up stays fast. Handlers hold no per-session state; anything that must
outlive a call lives in storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from .upstream import Gateway


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._gateway: Gateway | None = None

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            from .upstream import Gateway

            self._gateway = Gateway(self.settings)
        return self._gateway

    async def aclose(self) -> None:
        if self._gateway is not None:
            await self._gateway.aclose()
