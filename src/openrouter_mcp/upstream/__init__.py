"""The OpenRouter gateway: the only package that speaks HTTP to OpenRouter or sees its SDK."""

from .gateway import ChatResult, Gateway

__all__ = ["ChatResult", "Gateway"]
