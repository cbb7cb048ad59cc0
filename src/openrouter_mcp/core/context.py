"""The application as the foundation services (ledger, catalog, jobs) see it: the settings, the gateway
to OpenRouter and the database. `App` satisfies it; the services take it as an argument and never import
`App`, so the application can build them without an import cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Settings
    from ..storage import Storage
    from ..upstream import Gateway


class Core(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def gateway(self) -> Gateway: ...

    async def storage(self) -> Storage: ...

    @property
    def opened_storage(self) -> Storage | None:
        """The database if it is open already, else None (it is not opened by asking)."""
        ...
