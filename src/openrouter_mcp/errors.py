"""The closed set of error codes a tool can answer with, and the one exception that carries them.

Every failure a user can see is a `ToolFailure`; the server turns it into an `isError` result whose
`structuredContent.error` is `{code, message, retryable, retry_after_s?, suggestions?}`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # caller's input
    INVALID_INPUT = "INVALID_INPUT"
    UNSAFE_PATH = "UNSAFE_PATH"
    UNSAFE_URL = "UNSAFE_URL"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
    # account
    AUTH = "AUTH"
    NO_CREDITS = "NO_CREDITS"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    MODERATION = "MODERATION"
    # upstream
    UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    # long work
    JOB_PENDING = "JOB_PENDING"
    JOB_FAILED = "JOB_FAILED"
    # ours
    INTERNAL = "INTERNAL"


RETRYABLE = frozenset(
    {
        ErrorCode.RATE_LIMITED,
        ErrorCode.UPSTREAM_TIMEOUT,
        ErrorCode.UPSTREAM_UNAVAILABLE,
        ErrorCode.JOB_PENDING,
    }
)


class ToolFailure(Exception):
    """A failure with a code from the closed set and a message that tells the user what to do."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        suggestions: list[str] | None = None,
        details: dict[str, Any] | None = None,
        generation_id: str | None = None,
        maybe_billed: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = code in RETRYABLE if retryable is None else retryable
        self.retry_after_s = retry_after_s
        self.suggestions = suggestions
        self.details = details
        # Set when the failure came after OpenRouter started a (billable) generation.
        self.generation_id = generation_id
        # Set when OpenRouter accepted the request but its answer could not be read: something may be
        # billed under an id this server never learned.
        self.maybe_billed = maybe_billed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message, "retryable": self.retryable}
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        if self.suggestions:
            out["suggestions"] = self.suggestions
        if self.details:
            out["details"] = self.details
        return out


def invalid(field: str, problem: str, fix: str) -> ToolFailure:
    """An INVALID_INPUT failure that names the field, what is wrong and how to fix it."""
    return ToolFailure(ErrorCode.INVALID_INPUT, f"{field}: {problem}. {fix}", details={"field": field})


def too_large(field: str, size: int, cap: int) -> ToolFailure:
    """TOO_LARGE for an input over its cap (a local file, a data URL, a download), naming the field and the cap."""
    return ToolFailure(
        ErrorCode.TOO_LARGE,
        f"{field}: the file is larger than the {cap / 1e6:g} MB cap (at least {size / 1e6:.1f} MB). Use a smaller file or raise the cap in the server's settings.",
        details={"field": field, "cap_bytes": cap},
    )
