"""The OpenRouter gateway: the only package that speaks HTTP to OpenRouter or sees its SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .types import ChatResult, ProgressFn, StartFn

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = ["ChatResult", "Gateway", "ProgressFn", "StartFn"]


def __getattr__(name: str) -> Any:
    # The HTTP client library loads only when a gateway is first needed, not at server start-up.
    if name == "Gateway":
        from .gateway import Gateway

        return Gateway
    raise AttributeError(name)
