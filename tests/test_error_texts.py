"""Error messages say each thing once: a link OpenRouter's own message gives is not repeated by the advice,
a message that ends a sentence gets no second full stop, a rate limit names its wait once, and a
model that is not found names each close id once, in the message people read."""

from __future__ import annotations

import re

import pytest

from openrouter_mcp.core.results import failed
from openrouter_mcp.errors import ErrorCode, ToolFailure
from openrouter_mcp.services.catalog.model_info import Resolution, require_usable
from openrouter_mcp.upstream import errors as upstream_errors
from openrouter_mcp.upstream.errors import failure_from_error


def links(text: str) -> list[str]:
    return re.findall(r"https://[\w./-]*[\w/]", text)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (402, "Insufficient credits. Add more at https://openrouter.ai/settings/credits"),
        (402, "Insufficient credits."),
        (401, "No auth credentials found. Create a key at https://openrouter.ai/keys"),
        (401, "User not found."),
    ],
)
def test_a_link_appears_once_whether_or_not_openrouter_gave_it(status: int, message: str) -> None:
    failure = failure_from_error(status, {"code": status, "message": message})
    found = links(failure.message)
    assert len(found) == 1, failure.message
    assert ".." not in failure.message and "?." not in failure.message


def test_every_advice_with_a_link_has_a_version_without_it() -> None:
    linked = {code for code, advice in upstream_errors._ADVICE.items() if "https://" in advice}
    assert linked == set(upstream_errors._ADVICE_WITHOUT_LINK)
    assert not any("https://" in advice for advice in upstream_errors._ADVICE_WITHOUT_LINK.values())


def test_a_message_that_ends_a_sentence_gets_no_second_full_stop() -> None:
    failure = failure_from_error(429, {"message": "Model is temporarily rate-limited upstream. Please retry shortly."}, retry_after_s=5)
    assert "shortly. Retry after 5 s, or pass fallback models" in failure.message
    assert failure.message.count("etry") == 2  # OpenRouter's "retry shortly" and our "Retry after 5 s", nothing more


def not_found(**fields: object) -> str:
    base = {"requested": "openai/gpt-4o-mnii", "info": None, "variant": None}
    with pytest.raises(ToolFailure) as info:
        require_usable(Resolution(**{**base, **fields}))  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.MODEL_NOT_FOUND
    return info.value.message


def test_a_mistyped_id_asks_about_the_closest_once_and_lists_the_others_once() -> None:
    close = ["openai/gpt-4o-mini", "openai/gpt-4.1-mini", "openai/gpt-4o"]
    message = not_found(problem="'openai/gpt-4o-mnii' is not in OpenRouter's catalog (mistyped, or retired)", suggestions=close)
    assert "Did you mean openai/gpt-4o-mini? Other close ids: openai/gpt-4.1-mini, openai/gpt-4o. Check ids" in message
    assert message.count("Did you mean") == 1 and "?." not in message


def test_a_retired_id_names_its_successor_once() -> None:
    message = not_found(
        requested="google/palm-2-chat-bison",
        problem="google/palm-2-chat-bison was retired from OpenRouter; its successor is google/gemini-2.5-flash",
        retired=True,
        successor="google/gemini-2.5-flash",
        suggestions=["google/gemini-2.5-flash", "google/gemini-3-flash-preview"],
    )
    assert message.count("google/gemini-2.5-flash") == 1 and "Other close ids: google/gemini-3-flash-preview." in message
    assert "Did you mean" not in message


def test_the_text_people_read_does_not_repeat_the_suggestions() -> None:
    failure = ToolFailure(ErrorCode.MODEL_NOT_FOUND, "x is not in OpenRouter's catalog. Did you mean a/b?", suggestions=["a/b", "a/c"])
    result = failed(failure)
    assert result.content[0].text == f"MODEL_NOT_FOUND: {failure.message}"  # type: ignore[union-attr]
    assert result.structured_content == {"error": failure.to_dict()} and failure.to_dict()["suggestions"] == ["a/b", "a/c"]
