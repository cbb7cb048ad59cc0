"""The single boundary where OpenRouter's HTTP statuses, in-body error objects and transport exceptions
become our error codes. Nothing outside `upstream/` reads a status code or catches an HTTP exception."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import ErrorCode, ToolFailure

# Statuses a chat request may be re-sent after: the request was refused before any generation started.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503})

_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_INPUT,
    401: ErrorCode.AUTH,
    402: ErrorCode.NO_CREDITS,
    403: ErrorCode.MODERATION,
    404: ErrorCode.MODEL_NOT_FOUND,
    408: ErrorCode.UPSTREAM_TIMEOUT,
    413: ErrorCode.TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
    502: ErrorCode.UPSTREAM_UNAVAILABLE,
    503: ErrorCode.UPSTREAM_UNAVAILABLE,
    504: ErrorCode.UPSTREAM_TIMEOUT,
}

_ADVICE: dict[ErrorCode, str] = {
    ErrorCode.AUTH: "Check OPENROUTER_API_KEY (create a key at https://openrouter.ai/keys); `openrouter-mcp doctor` tests it.",
    ErrorCode.NO_CREDITS: "Add credits at https://openrouter.ai/settings/credits, or use a :free model.",
    ErrorCode.MODERATION: "The provider's moderation refused this input; rephrase it or pick a model without moderation.",
    ErrorCode.MODEL_NOT_FOUND: "Check the id with validate_model or search_models.",
    ErrorCode.RATE_LIMITED: "Wait and try again, or pass fallback models in `models`.",
    ErrorCode.UPSTREAM_UNAVAILABLE: "Try again shortly, allow provider fallbacks, or pass fallback models in `models`.",
    ErrorCode.UPSTREAM_TIMEOUT: "Try again, lower max_tokens, or use a faster model.",
    ErrorCode.UPSTREAM_ERROR: "Try again; if it persists, try another model or provider.",
    ErrorCode.TOO_LARGE: "Send less: shorten the messages or attach smaller files.",
    ErrorCode.INVALID_INPUT: "Fix the request as the message says.",
}

# The advice instead, when OpenRouter's own message already links to the page the advice names.
_ADVICE_WITHOUT_LINK: dict[ErrorCode, str] = {
    ErrorCode.AUTH: "Check OPENROUTER_API_KEY; `openrouter-mcp doctor` tests it.",
    ErrorCode.NO_CREDITS: "A :free model needs no credits.",
}

# A 404 can mean "this model exists, but the request's routing options left it no endpoint", which the caller
# fixes by changing the request, not the model. OpenRouter says so in the body: `error.availability.code`
# (api_reference/errors-and-debugging.mdx, "Model availability errors": no_endpoints, constraint_filtered
# and privacy_restricted are the 404s of eliminated endpoints), with `excluded_by` naming the filters that
# removed the last ones. The message (e.g. "No allowed providers are available for the selected model ...",
# guides/features/router-metadata.mdx) is quoted, never parsed.
_ROUTING_CODES = frozenset({"no_endpoints", "constraint_filtered", "privacy_restricted"})
# `excluded_by`'s vocabulary, as the provider options each filter reads.
_EXCLUDED_BY: dict[str, tuple[str, ...]] = {
    "allowed_providers": ("only", "ignore", "order", "allow_fallbacks"),
    "quantization": ("quantizations",),
    "require_parameters": ("require_parameters",),
    "max_price": ("max_price",),
    "data_policy:zdr": ("zdr",),
    "data_policy:training": ("data_collection",),
}
# Provider options that drop endpoints (guides/routing/provider-selection.mdx): those the filters above read, and
# enforce_distillable_text; sort and preferred_* only reorder.
_ROUTING_FILTERS = frozenset({"enforce_distillable_text", *(k for keys in _EXCLUDED_BY.values() for k in keys)})

_KEY_LIMIT_ADVICE = (
    "This OpenRouter key's spending limit is used up. On a team server an admin can raise a user's limit with "
    "`openrouter-mcp users set NAME --openrouter-limit-usd AMOUNT`; otherwise raise it at https://openrouter.ai/settings/keys."
)


def code_for_status(status: int) -> ErrorCode:
    if status in _STATUS_CODES:
        return _STATUS_CODES[status]
    return ErrorCode.UPSTREAM_ERROR if status >= 500 or status < 400 else ErrorCode.INVALID_INPUT


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def error_object(payload: Any) -> dict[str, Any] | None:
    """OpenRouter's `{"error": {"code", "message", "metadata"?}}`, if the payload is one."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            return error
    return None


def failure_from_error(
    status: int, error: dict[str, Any] | None, *, retry_after_s: float | None = None, secret: str | None = None, routing: dict[str, Any] | None = None
) -> ToolFailure:
    """Map an HTTP status and OpenRouter error object to a ToolFailure. The in-body `code` wins when it is
    a real HTTP status (errors inside a 200 response carry their true status there). `routing` is the
    request's `provider` object, named when a 404 says its options left no endpoint."""
    body_code = error.get("code") if error else None
    effective = body_code if isinstance(body_code, int) and 400 <= body_code <= 599 else status
    code = code_for_status(effective)
    upstream_msg = str(error.get("message", "")).strip() if error else ""
    if secret:
        upstream_msg = upstream_msg.replace(secret, "[redacted]")
    metadata = error.get("metadata") if error and isinstance(error.get("metadata"), dict) else None
    # A key whose own credit limit is spent is refused with 402 (limit_source in the metadata) or, as seen on
    # the wire, 403 "Key limit exceeded": either way it is out of credits, not a moderation refusal.
    key_limit = (metadata or {}).get("limit_source") == "openrouter_key_limit" or upstream_msg.lower().startswith("key limit exceeded")
    if key_limit:
        code = ErrorCode.NO_CREDITS
    parts = [_sentence(f"OpenRouter answered {effective}" + (f": {upstream_msg}" if upstream_msg else ""))]
    details: dict[str, Any] = {"upstream_status": effective}
    excluded = _routing_exclusion(error, routing) if effective == 404 else None
    if excluded is not None:
        options, others, known = excluded
        named = ", ".join(f"provider.{k}={json.dumps(v)}" for k, v in options.items())
        if known:
            culprits = "; ".join(x for x in (named and f"the routing options {named}", others and f"OpenRouter's filters {', '.join(others)}") if x)
            parts.append(f"No endpoint of the model is left by {culprits}. Loosen or drop them, or pick another model.")
        else:  # OpenRouter did not say which filter: the options are named as sent, not blamed
            parts.append(f"Routing options sent: {named}. Loosen or drop them, leave out parameters its providers may not support, or pick another model.")
        details.update({k: v for k, v in (("routing", options), ("excluded_by", others)) if v})
        return ToolFailure(ErrorCode.INVALID_INPUT, " ".join(parts), retry_after_s=retry_after_s, details=details)
    if code is ErrorCode.MODERATION and metadata and metadata.get("reasons"):
        parts.append(f"Flagged for: {', '.join(map(str, metadata['reasons']))}.")
    parts.append(_KEY_LIMIT_ADVICE if key_limit else _advice(code, upstream_msg, retry_after_s))
    if metadata and code is ErrorCode.MODERATION:
        details["reasons"] = metadata.get("reasons")
    return ToolFailure(code, " ".join(p for p in parts if p), retry_after_s=retry_after_s, details=details)


def _routing_exclusion(error: dict[str, Any] | None, routing: dict[str, Any] | None) -> tuple[dict[str, Any], list[str], bool] | None:
    """For a 404: the request's routing options that left the model no endpoint, any filter OpenRouter names
    that is not one of them (geo, context_length ...), and whether OpenRouter said which filters did it;
    None when the 404 is not about routing. With `error.availability` and its `excluded_by` the answer is
    OpenRouter's. Without them (an older body) a 404 for a request that set routing filters is still the
    request's to fix, since the model ids were checked against the catalog before sending; its options are
    then named as sent."""
    sent = {k: v for k, v in (routing or {}).items() if k in _ROUTING_FILTERS and not (k == "allow_fallbacks" and v is not False)}
    availability = (error or {}).get("availability")
    if not isinstance(availability, dict):
        availability = {}
    elif availability.get("code") not in _ROUTING_CODES:
        return None
    by = [str(x) for x in availability.get("excluded_by") or ()]
    if not by:
        return (sent, [], False) if sent else None
    options = {k: v for k, v in sent.items() if any(k in _EXCLUDED_BY.get(b, ()) for b in by)}
    return options, [b for b in by if not any(k in options for k in _EXCLUDED_BY.get(b, ()))], True


def _sentence(text: str) -> str:
    """The text ending as a sentence: a full stop added only when it has no closing mark of its own."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _advice(code: ErrorCode, upstream_msg: str, retry_after_s: float | None) -> str:
    """What to do, without repeating what OpenRouter's message already said: a link it gave, or when to retry."""
    if code is ErrorCode.RATE_LIMITED and retry_after_s is not None:
        return f"Retry after {retry_after_s:g} s, or pass fallback models in `models`."
    advice = _ADVICE.get(code, "")
    link = re.search(r"https://[^\s,;)]+", advice)
    if link is not None and link.group().rstrip(".") in upstream_msg:
        return _ADVICE_WITHOUT_LINK[code]
    return advice


def failure_from_body(status: int, raw: bytes, headers: Any, *, secret: str | None = None, routing: dict[str, Any] | None = None) -> ToolFailure:
    try:
        payload = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    error = error_object(payload)
    if error is None and raw:
        error = {"message": raw[:300].decode("utf-8", "replace")}
    return failure_from_error(status, error, retry_after_s=retry_after_seconds(headers.get("retry-after")), secret=secret, routing=routing)


def bad_response(what: str) -> ToolFailure:
    return ToolFailure(ErrorCode.UPSTREAM_ERROR, f"OpenRouter sent {what}. {_ADVICE[ErrorCode.UPSTREAM_ERROR]}", retryable=True)


def transport_failure(kind: str, detail: str) -> ToolFailure:
    if kind == "timeout":
        return ToolFailure(ErrorCode.UPSTREAM_TIMEOUT, f"OpenRouter did not answer in time ({detail}). {_ADVICE[ErrorCode.UPSTREAM_TIMEOUT]}")
    return ToolFailure(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        f"Could not reach OpenRouter ({detail}). Check the network and OPENROUTER_BASE_URL; `openrouter-mcp doctor` tests both.",
    )
