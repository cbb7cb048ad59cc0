"""The simulator's model list as `GET /models` serves it: the catalog, then the paced benchmark models,
the fault models, the quiz models and the video fault models, each shaped like a catalog item."""

from __future__ import annotations

import json
from typing import Any

from . import catalog, quiz
from .faults import FAULT_MODELS, VIDEO_FAULTS


def models() -> list[dict[str, Any]]:
    """Every model one simulator instance lists, in the order it lists them."""
    out = catalog.build_catalog() + catalog.paced_models() + _fault_catalog() + quiz.catalog_items(catalog.find("openai/gpt-4o-mini") or {})
    out += _video_fault_catalog(catalog.find("google/veo-3.1-fast") or {})
    return out


def _fault_catalog() -> list[dict[str, Any]]:
    base = catalog.find("openai/gpt-4o-mini")
    assert base is not None
    out = []
    for model_id, description in FAULT_MODELS.items():
        item = json.loads(json.dumps(base))
        item.update(
            id=model_id,
            canonical_slug=model_id,
            name=f"Simulator: {model_id.removeprefix('sim/')}",
            description=description,
            links={"details": f"/api/v1/models/{model_id}/endpoints"},
        )
        if model_id == "sim/reasoning-length":
            item["supported_parameters"] = sorted(set(item["supported_parameters"]) | {"reasoning", "include_reasoning"})
        if model_id.endswith(":free"):
            item["pricing"] = {key: "0" for key in item["pricing"]}
            item["name"] += " (free)"
        out.append(item)
    return out


def _video_fault_catalog(veo: dict[str, Any]) -> list[dict[str, Any]]:
    """The video fault models, shaped like the video model they imitate."""
    out = []
    for model_id, description in VIDEO_FAULTS.items():
        item = json.loads(json.dumps(veo))
        item.update(id=model_id, canonical_slug=model_id, name=f"Simulator: {model_id.removeprefix('sim/')}", description=description)
        item["links"] = {"details": f"/api/v1/models/{model_id}/endpoints"}
        out.append(item)
    return out
