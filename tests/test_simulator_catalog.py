"""The simulator's catalog matches OpenRouter's wire shapes, covers every kind of model, and stays
cheap to import."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from openrouter.components import ListEndpointsResponse, Model, ModelsListResponse

from openrouter_mcp.simulator import catalog

FIXED_IDS = (
    "openai/gpt-4o-mini",
    "openai/gpt-4o",
    "openai/gpt-5",
    "anthropic/claude-sonnet-4.5",
    "anthropic/claude-3.5-haiku",
    "google/gemini-2.5-flash",
    "google/gemini-2.5-pro",
    "meta-llama/llama-3.3-70b-instruct",
    "meta-llama/llama-3.3-70b-instruct:free",
    "mistralai/mistral-small-3.2-24b-instruct",
    "deepseek/deepseek-r1",
    "deepseek/deepseek-chat-v3.1:free",
    "qwen/qwen3-235b-a22b",
    "x-ai/grok-4",
    "google/gemini-2.5-flash-image",
    "openai/gpt-4o-audio-preview",
    "openai/gpt-4o-mini-tts",
    "google/veo-3.1",
    "openai/text-embedding-3-small",
    "openrouter/auto",
    "openrouter/free",
)


def _with_output(modality: str) -> list[dict[str, object]]:
    return [m for m in catalog.build_catalog() if modality in m["architecture"]["output_modalities"]]


def test_every_item_parses_as_an_sdk_model() -> None:
    models = catalog.build_catalog()
    for item in models:
        Model.model_validate(item)
    ModelsListResponse.model_validate({"data": models, "links": {"next": None}, "total_count": len(models)})


def test_every_endpoints_listing_parses_as_the_sdk_type() -> None:
    for item in catalog.build_catalog():
        data = catalog.endpoints_for(item["id"])
        assert data is not None, item["id"]
        parsed = ListEndpointsResponse.model_validate(data)
        assert parsed.id == item["id"]
        assert 1 <= len(parsed.endpoints) <= 4
        for endpoint in parsed.endpoints:
            assert endpoint.context_length <= item["context_length"]
            assert endpoint.model_id == item["canonical_slug"]


def test_ids_are_unique_and_counts_are_realistic() -> None:
    models = catalog.build_catalog()
    ids = [m["id"] for m in models]
    assert len(ids) == len(set(ids))
    assert len(models) >= 250
    assert len({i.split("/")[0] for i in ids}) >= 30
    free = [m for m in models if m["id"].endswith(":free")]
    assert len(free) >= 20
    for item in free:
        assert item["pricing"]["prompt"] == item["pricing"]["completion"] == "0"
        assert catalog.find(item["id"].removesuffix(":free")) is not None


def test_every_kind_of_model_is_present() -> None:
    for modality in ("image", "audio", "video", "embeddings", "speech"):
        assert _with_output(modality), modality
    inputs = Counter(i for m in catalog.build_catalog() for i in m["architecture"]["input_modalities"])
    assert all(inputs[kind] > 0 for kind in ("text", "image", "audio", "video", "file"))


def test_fixed_ids_exist_with_the_documented_traits() -> None:
    for model_id in FIXED_IDS:
        assert catalog.find(model_id) is not None, model_id
    mini = catalog.find("openai/gpt-4o-mini")
    assert mini is not None
    assert (mini["pricing"]["prompt"], mini["pricing"]["completion"]) == ("0.00000015", "0.0000006")
    r1 = catalog.find("deepseek/deepseek-r1")
    assert r1 is not None and {"reasoning", "include_reasoning"} <= set(r1["supported_parameters"])
    image = catalog.find("google/gemini-2.5-flash-image")
    assert image is not None and image["architecture"]["output_modalities"] == ["image", "text"]
    audio = catalog.find("openai/gpt-4o-audio-preview")
    assert audio is not None and "audio" in audio["architecture"]["input_modalities"] and "audio" in audio["architecture"]["output_modalities"]
    tts = catalog.find("openai/gpt-4o-mini-tts")
    assert tts is not None and tts["supported_voices"]
    veo = catalog.find("google/veo-3.1")
    assert veo is not None and veo["architecture"]["output_modalities"] == ["video"]
    embedding = catalog.find("openai/text-embedding-3-small")
    assert embedding is not None and embedding["architecture"]["output_modalities"] == ["embeddings"]


def test_routers_have_unknown_prices() -> None:
    for model_id in ("openrouter/auto", "openrouter/free"):
        router = catalog.find(model_id)
        assert router is not None
        assert router["pricing"]["prompt"] == router["pricing"]["completion"] == "-1"


def test_prices_are_decimal_strings_and_limits_are_consistent() -> None:
    for item in catalog.build_catalog():
        for value in item["pricing"].values():
            assert isinstance(value, str) and "e" not in value.lower()
            float(value)
        top = item["top_provider"]
        assert top["context_length"] == item["context_length"]
        assert top["max_completion_tokens"] is None or top["max_completion_tokens"] <= item["context_length"]
        assert item["links"]["details"] == f"/api/v1/models/{item['id']}/endpoints"
        assert 2023 <= 1970 + item["created"] // 31_556_952 <= 2026
        if "reasoning" in item["supported_parameters"]:
            assert "include_reasoning" in item["supported_parameters"]


def test_only_retiring_models_carry_an_expiration_date() -> None:
    expiring = [m for m in catalog.build_catalog() if m["expiration_date"] is not None]
    assert 0 < len(expiring) < 20


def test_retired_ids_are_gone_and_their_successors_present() -> None:
    assert len(catalog.RETIRED) >= 10
    for old, new in catalog.RETIRED.items():
        assert catalog.find(old) is None
        assert catalog.endpoints_for(old) is None
        assert catalog.find(new) is not None, new
        assert old.split("/")[0] == new.split("/")[0]


def test_unknown_ids_have_no_endpoints() -> None:
    assert catalog.find("nobody/nothing") is None
    assert catalog.endpoints_for("nobody/nothing") is None


def test_behaviour_is_deterministic_fast_and_resolves_variants() -> None:
    base = catalog.behaviour("meta-llama/llama-3.3-70b-instruct")
    assert catalog.behaviour("meta-llama/llama-3.3-70b-instruct:free") == base
    assert catalog.behaviour("meta-llama/llama-3.3-70b-instruct:nitro") == base
    endpoints = catalog.endpoints_for("meta-llama/llama-3.3-70b-instruct")
    assert endpoints is not None
    assert base["provider"] == endpoints["endpoints"][0]["provider_name"]
    assert catalog.behaviour("openai/gpt-4o-mini")["provider"] == "OpenAI"
    for item in catalog.build_catalog():
        speed = catalog.behaviour(item["id"])
        assert 5 <= speed["ttft_ms"] <= 40
        assert 500 <= speed["tokens_per_s"] <= 5000


def test_catalog_is_the_same_in_a_fresh_process() -> None:
    """Derived numbers come from a stable hash, not Python's per-process randomised hash()."""
    code = "from openrouter_mcp.simulator import catalog; print(catalog.behaviour('qwen/qwen3-235b-a22b'), catalog.build_catalog()[0]['created'])"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env(PYTHONHASHSEED=seed)).stdout for seed in ("1", "2")
    }
    expected = f"{catalog.behaviour('qwen/qwen3-235b-a22b')} {catalog.build_catalog()[0]['created']}\n"
    assert runs == {expected}


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _import_us() -> int:
    """CPU time (µs) the import costs in a fresh interpreter: what the import does, not how long a loaded
    machine makes it wait for a core (the wall clock, which `-X importtime` reports, failed this test on a
    machine running three test suites at once)."""
    code = "import time; t = time.process_time(); import openrouter_mcp.simulator.catalog; print(round((time.process_time() - t) * 1e6))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    return int(result.stdout.strip())


def test_import_is_cheap() -> None:
    # The best of three, so that one slow moment on a busy machine does not fail it.
    assert min(_import_us() for _ in range(3)) < 50_000
