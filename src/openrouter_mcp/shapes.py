"""The base of every tool's output model."""

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    """An output model whose validator is built when first used, not when its module is imported: start-up
    defines some eighty of them, and a session may call only a few tools."""

    model_config = ConfigDict(defer_build=True)
